// The hostile-input corpus: malformed and forged tokens, header smuggling, forged identity and
// forwarding headers, WebSocket subprotocol abuse and oversized requests, each sent to a gateway
// in front of the bed's real kube-apiserver. Every case asserts the exact status, a Kubernetes
// Status body for errors, what reached the API server (its audit log, filtered by the case's
// marker in the request URI), and — where the same request means something to kube-apiserver —
// what kube-apiserver answers to it directly. After the corpus the gateway still serves.
//
// Deviations from kube-apiserver, on purpose (the `direct` field of those cases says so):
// - identities the gateway cannot carry faithfully in an Impersonate-* header (CR, LF, NUL and
//   other control characters, leading or trailing blanks, which Go's header parser trims) and
//   system: identities are refused with 401; kube-apiserver accepts the token (and RBAC then
//   answers 403 for the unknown user);
// - requests Node's HTTP parser refuses get a 400/431 Status JSON from the gateway where Go's
//   net/http answers plain text (or, for some, parses the request);
// - a client Impersonate-* header is refused with 403 before the token is looked at.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import {
  bedOidcFlags,
  gatewayReady,
  gatewayTokenSubject,
  prepareGatewayCredentials,
  type RunningGateway,
  startTestGateway,
} from "../../testbed/gateway.ts";
import { waitFor } from "../../testbed/http.ts";
import { clients } from "../../testbed/issuer/oidc-provider.ts";
import { base64url } from "../../testbed/issuer/raw-signer.ts";
import type { AuditEvent } from "../../testbed/kube-apiserver.ts";
import { type ClientRequest, clientExchange, type RawResponse, rawExchange } from "./raw-client.ts";

const rbac = `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: hardening-reader, namespace: default}
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: hardening-readers, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: hardening-reader}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "oidc:hardening"}
`;

const user = "hardening@example.com";

type RawSend = { readonly raw: string | Buffer; readonly expected?: number };
type Send = RawSend | ClientRequest;

interface Case {
  readonly name: string;
  /** The request for the case; `path` carries the case's marker in its query. */
  readonly send: (path: string) => Send;
  /** The gateway's status (one per response for pipelined requests). */
  readonly status: number | readonly number[];
  /** The Status reason, when the answer is an error. */
  readonly reason?: string;
  /** What kube-apiserver answers to the same request directly (differential), when meaningful. */
  readonly direct?: number;
  /**
   * For requests that go through: checks of the API server's audit events for the case. Without
   * it, no event for the case may exist: nothing reached the API server.
   */
  readonly forwarded?: (events: readonly AuditEvent[]) => void;
}

const isRaw = (send: Send): send is RawSend => "raw" in send;

/** An HTTP/1.1 request as bytes: `lines` are header lines written verbatim. */
function rawRequest(method: string, path: string, lines: readonly string[], body = "", version = "HTTP/1.1"): string {
  return `${method} ${path} ${version}\r\nHost: 127.0.0.1\r\n${lines.map((l) => `${l}\r\n`).join("")}\r\n${body}`;
}

const wsLines = (protocol?: string) => [
  "Connection: Upgrade",
  "Upgrade: websocket",
  "Sec-WebSocket-Version: 13",
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
  ...(protocol === undefined ? [] : [`Sec-WebSocket-Protocol: ${protocol}`]),
];

const bearerProtocol = (token: string) => `base64url.bearer.authorization.k8s.io.${base64url(token)}`;

function assertStatusBody(response: RawResponse, status: number, reason: string | undefined, what: string): void {
  assert.match(response.headers["content-type"]?.[0] ?? "", /^application\/json/, `${what}: content-type`);
  const body = JSON.parse(response.body) as Record<string, unknown>;
  assert.equal(body.kind, "Status", what);
  assert.equal(body.apiVersion, "v1", what);
  assert.equal(body.status, "Failure", what);
  assert.equal(body.code, status, what);
  assert.equal(typeof body.reason, "string", what);
  if (reason) assert.equal(body.reason, reason, what);
}

describe("the hostile-request corpus", { timeout: 600_000 }, () => {
  let bed: TestBed;
  let gateway: RunningGateway;
  let ca: string;
  let valid: string;
  /** The corpus, built once the bed (and its signing keys) exist. */
  const cases: Case[] = [];

  const now = () => Math.floor(Date.now() / 1000);
  const claims = (changes: Record<string, unknown> = {}, remove: readonly string[] = []) => {
    const base: Record<string, unknown> = {
      iss: bed.issuer.url,
      aud: clients.kubernetes.id,
      sub: "hardening-0001",
      email: user,
      email_verified: true,
      groups: ["hardening"],
      iat: now(),
      exp: now() + 600,
      ...changes,
    };
    for (const key of remove) delete base[key];
    return base;
  };
  const signed = (changes: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
    bed.mint({ alg: "RS256", kid: "rsa-1", claims: claims(changes), header });
  const signedRaw = (rawPayload: string, header: Record<string, unknown> = {}) =>
    bed.mint({ alg: "RS256", kid: "rsa-1", rawPayload, header });
  const rogue = (header: Record<string, unknown> = {}) =>
    bed.mint({ alg: "RS256", kid: "rogue-rsa", claims: claims(), header });
  const bearer =
    (token: string, headers: Record<string, string | string[]> = {}) =>
    (path: string) => ({
      path,
      headers: { Authorization: `Bearer ${token}`, ...headers },
    });
  /** A validly signed token whose identity the gateway must refuse (401) but kube-apiserver maps (403: no RBAC). */
  const unsafeIdentity = (name: string, changes: Record<string, unknown>): Case => ({
    name,
    send: (path) => bearer(signed({ groups: [], ...changes }))(path),
    status: 401,
    reason: "Unauthorized",
    direct: 403,
  });
  /** A validly signed token whose odd but carriable identity must reach the API server byte for byte. */
  const exactIdentity = (name: string, username: string, groups: string[] = []): Case => ({
    name,
    send: bearer(signed({ email: username, groups })),
    status: 403,
    reason: "Forbidden",
    direct: 403,
    forwarded: (events) => {
      assert.ok(events.length > 0, "the request did not reach the API server");
      for (const event of events) {
        assert.equal(event.user.username, gatewayTokenSubject);
        assert.equal(event.impersonatedUser?.username, username);
        for (const group of groups) assert.ok(event.impersonatedUser?.groups?.includes(`oidc:${group}`));
      }
    },
  });
  /** A valid request that carries forged headers the gateway must drop: it runs as the token's user. */
  const asTokenUser =
    (extra?: (event: AuditEvent) => void) =>
    (events: readonly AuditEvent[]): void => {
      assert.ok(events.length > 0, "the request did not reach the API server");
      for (const event of events) {
        assert.equal(event.user.username, gatewayTokenSubject);
        assert.equal(event.impersonatedUser?.username, user);
        assert.deepEqual(event.impersonatedUser?.groups, ["oidc:hardening", "system:authenticated"]);
        extra?.(event);
      }
    };
  const noForgedSource = (event: AuditEvent) => {
    const sources = (event.sourceIPs as string[] | undefined) ?? [];
    assert.ok(!sources.includes("6.6.6.6"), `forged source reached the API server: ${sources.join(", ")}`);
  };

  function buildCorpus(): void {
    const rsaPublicPem = bed.issuer.keys.published[0]?.publicKey.export({ type: "spki", format: "pem" }) as string;
    const rogueJwk = bed.issuer.keys.unpublished[0]?.publicJwk;
    const deep = `${"[".repeat(10_000)}${"]".repeat(10_000)}`;
    const realIss = JSON.stringify(bed.issuer.url);
    const aud = JSON.stringify(clients.kubernetes.id);
    const tail = `"email":"${user}","email_verified":true,"groups":["hardening"],"exp":${now() + 3600}`;
    const unauthorized = { status: 401, reason: "Unauthorized", direct: 401 } as const;

    cases.push(
      // --- malformed tokens and algorithm confusion ---
      { name: "alg none, empty signature", send: bearer(bed.mint({ alg: "none", claims: claims() })), ...unauthorized },
      {
        name: "alg NONE in upper case with an RS256 signature",
        send: bearer(signed({}, { alg: "NONE" })),
        ...unauthorized,
      },
      {
        name: "HS256 keyed with the issuer's RSA public key (alg confusion)",
        send: bearer(bed.mint({ alg: "HS256", hmacSecret: rsaPublicPem, claims: claims(), header: { kid: "rsa-1" } })),
        ...unauthorized,
      },
      {
        name: "unknown crit header",
        send: bearer(signed({}, { crit: ["x-hostile"], "x-hostile": true })),
        ...unauthorized,
      },
      {
        name: "crit b64=false (RFC 7797 unencoded payload) over a signed token",
        send: bearer(signed({}, { crit: ["b64"], b64: false })),
        ...unauthorized,
      },
      {
        name: "kid path traversal ../../ with a rogue key",
        send: bearer(rogue({ kid: "../../etc/passwd" })),
        ...unauthorized,
      },
      {
        name: "kid path traversal naming a published key",
        send: bearer(signed({}, { kid: "../../rsa-1" })),
        ...unauthorized,
      },
      { name: "kid of a published key, signed by a rogue key", send: bearer(rogue({ kid: "rsa-1" })), ...unauthorized },
      {
        name: "jku header pointing at an attacker's key set",
        send: bearer(rogue({ jku: "https://attacker.example/jwks.json", kid: "rogue-rsa" })),
        ...unauthorized,
      },
      {
        name: "x5u header pointing at an attacker's certificate",
        send: bearer(rogue({ x5u: "https://attacker.example/cert.pem" })),
        ...unauthorized,
      },
      { name: "embedded jwk header with the attacker's key", send: bearer(rogue({ jwk: rogueJwk })), ...unauthorized },
      { name: "kid as a number", send: bearer(signed({}, { kid: 1 })), ...unauthorized },
      {
        name: "x5c header that is not a certificate",
        send: bearer(signed({}, { x5c: ["bm90IGEgY2VydGlmaWNhdGU="] })),
        ...unauthorized,
      },
      {
        name: "embedded jwk header that is no key",
        send: bearer(signed({}, { jwk: { kty: "nope" } })),
        ...unauthorized,
      },
      {
        name: "kid null is no kid, as go-jose reads it",
        send: bearer(signed({}, { kid: null })),
        status: 200,
        direct: 200,
        forwarded: asTokenUser(),
      },
      { name: "corrupted signature", send: bearer(`${signed().slice(0, -6)}AAAAAA`), ...unauthorized },
      {
        name: "10 000-deep nested claim (beyond encoding/json's depth limit)",
        send: bearer(signedRaw(`{"iss":${realIss},"aud":${aud},${tail},"nested":${deep}}`)),
        ...unauthorized,
      },
      {
        name: "duplicate iss: the real one, then a foreign one (last wins)",
        send: bearer(signedRaw(`{"iss":${realIss},"iss":"https://evil.example","aud":${aud},${tail}}`)),
        ...unauthorized,
      },
      {
        name: "duplicate aud: the right one, then a wrong one",
        send: bearer(signedRaw(`{"iss":${realIss},"aud":${aud},"aud":"someone-else",${tail}}`)),
        ...unauthorized,
      },
      {
        name: "case-folded duplicate ISS after iss",
        send: bearer(signedRaw(`{"iss":${realIss},"ISS":"https://evil.example","aud":${aud},${tail}}`)),
        ...unauthorized,
      },
      { name: "numeric sub", send: bearer(signed({ sub: 12345 })), ...unauthorized },
      { name: "negative exp", send: bearer(signed({ exp: -1 })), ...unauthorized },
      { name: "exp 1e300", send: bearer(signed({ exp: 1e300 })), ...unauthorized },
      {
        name: "exp missing",
        send: bearer(bed.mint({ alg: "RS256", kid: "rsa-1", claims: claims({}, ["exp"]) })),
        ...unauthorized,
      },
      {
        name: "iat 1e400, beyond float64",
        send: bearer(signedRaw(`{"iss":${realIss},"aud":${aud},${tail},"iat":1e400}`)),
        ...unauthorized,
      },
      { name: "nbf beyond what a Date holds", send: bearer(signed({ nbf: 9e12 })), ...unauthorized },
      { name: "nbf in the far future", send: bearer(signed({ nbf: now() + 10 * 365 * 86_400 })), ...unauthorized },
      { name: "email_verified false", send: bearer(signed({ email_verified: false })), ...unauthorized },
      { name: "wrong audience", send: bearer(signed({ aud: "not-kubernetes" })), ...unauthorized },
      { name: "foreign issuer", send: bearer(signed({ iss: "https://evil.example" })), ...unauthorized },
      {
        name: "base64 padding in the payload segment",
        send: (path) => {
          const [h, p, s] = signed().split(".");
          return bearer(`${h}.${p}==.${s}`)(path);
        },
        ...unauthorized,
      },
      {
        name: "whitespace inside the payload segment",
        send: (path) => {
          const [h, p = "", s] = signed().split(".");
          return bearer(`${h}.${p.slice(0, 10)} ${p.slice(10)}.${s}`)(path);
        },
        ...unauthorized,
      },
      { name: "JWE: five parts", send: bearer(`${signed()}.AAAA.BBBB`), ...unauthorized },
      { name: "two parts", send: bearer(signed().split(".").slice(0, 2).join(".")), ...unauthorized },
      {
        name: "payload that is JSON but not an object",
        send: bearer(signedRaw('["not","an","object"]')),
        ...unauthorized,
      },
      {
        name: "empty bearer token",
        send: (path) => ({ path, headers: { Authorization: "Bearer " } }),
        ...unauthorized,
      },
      {
        name: "Bearer twice",
        send: (path) => ({ path, headers: { Authorization: `Bearer Bearer ${valid}` } }),
        ...unauthorized,
      },
      {
        name: "two spaces after Bearer",
        send: (path) => ({ path, headers: { Authorization: `Bearer  ${valid}` } }),
        ...unauthorized,
      },
      {
        name: "Basic credentials",
        send: (path) => ({ path, headers: { Authorization: `Basic ${base64url("admin:admin")}` } }),
        ...unauthorized,
      },
      {
        name: "token in the query string only",
        send: (path) => ({ path: `${path}&access_token=${valid}` }),
        ...unauthorized,
      },
      {
        name: "token in a cookie only",
        send: (path) => ({ path, headers: { Cookie: `access_token=${valid}` } }),
        ...unauthorized,
      },
      {
        name: "two Authorization headers, a bad one first",
        send: (path) => ({
          raw: rawRequest("GET", path, ["Authorization: Bearer not-a-token", `Authorization: Bearer ${valid}`]),
        }),
        ...unauthorized,
      },
      {
        name: "lowercase bearer with a valid token goes through as kube-apiserver reads it",
        send: (path) => ({ path, headers: { Authorization: `bearer ${valid}` } }),
        status: 200,
        direct: 200,
        forwarded: asTokenUser(),
      },
      {
        name: "huge (150 KB) claim signed by a rogue key",
        send: (path) =>
          bearer(bed.mint({ alg: "RS256", kid: "rogue-rsa", claims: claims({ junk: "x".repeat(150_000) }) }))(path),
        ...unauthorized,
      },
      {
        name: "1 MB claims: over --max-header-bytes",
        send: (path) => ({
          raw: rawRequest("GET", path, [`Authorization: Bearer ${signed({ junk: "x".repeat(1_000_000) })}`]),
        }),
        status: 431,
        direct: 431,
      },

      // --- identities a signed token may carry ---
      unsafeIdentity("CR/LF in the username claim (header injection)", {
        email: `evil@example.com\r\nImpersonate-Group: system:masters`,
      }),
      unsafeIdentity("LF in a group", { groups: ["ok\nImpersonate-User: admin"] }),
      unsafeIdentity("CR/LF in jti (becomes an Impersonate-Extra value)", { jti: "x\r\nImpersonate-User: admin" }),
      unsafeIdentity("NUL in the username", { email: "evil\u0000@example.com" }),
      unsafeIdentity("a control character (ESC) in the username", { email: "evil\u001b[31m@example.com" }),
      unsafeIdentity("DEL in a group", { groups: ["del\u007fgroup"] }),
      unsafeIdentity("leading blank in the username (Go trims header values)", { email: " victim@example.com" }),
      unsafeIdentity("trailing tab in the username", { email: "victim@example.com\t" }),
      unsafeIdentity("system: username", { email: "system:admin" }),
      unsafeIdentity("system: username behind a leading blank", { email: " system:kube-controller-manager" }),
      exactIdentity("bidi override in the username reaches the API server unchanged", "\u202emoc.elpmaxe@nimda"),
      exactIdentity("Cyrillic homoglyph username stays distinct from the Latin one", "h\u0430rdening@example.com"),
      exactIdentity("fullwidth and combining characters in the username", "\uff48ardening\u0301@example.com"),
      exactIdentity("a tab inside the username is carried unchanged", "tab\tinside@example.com"),
      exactIdentity("astral-plane characters in the username", "\u{1f600}\u{10ffff}@example.com"),
      exactIdentity("group system:masters is prefixed, never taken as is", "prefixed@example.com", ["system:masters"]),

      // --- forged impersonation headers, every letter case ---
      ...[
        "Impersonate-User",
        "impersonate-user",
        "IMPERSONATE-USER",
        "iMpErSoNaTe-UsEr",
        "impersonate-group",
        "IMPERSONATE-UID",
        "Impersonate-Uid",
        "Impersonate-Extra-scopes",
        "impersonate-extra-authentication.kubernetes.io%2fcredential-id",
      ].map(
        (name): Case => ({
          name: `forged ${name} with a valid token`,
          send: bearer(valid, { [name]: "admin" }),
          status: 403,
          reason: "Forbidden",
          // kube-apiserver: 403 for a user the token's user may not impersonate, 400 for
          // groups, uid or extras without a user.
          direct: /-user$/i.test(name) ? 403 : 400,
        }),
      ),
      {
        // Authentication comes first, as in kube-apiserver's filter chain.
        name: "forged Impersonate-User without a token",
        send: (path) => ({ path, headers: { "Impersonate-User": "admin" } }),
        status: 401,
        reason: "Unauthorized",
        direct: 401,
      },
      {
        name: "forged Impersonate-User with an empty value",
        send: (path) => ({ raw: rawRequest("GET", path, [`Authorization: Bearer ${valid}`, "Impersonate-User:"]) }),
        status: 403,
        reason: "Forbidden",
      },
      {
        name: "Impersonate_User with an underscore is not impersonation and runs as the token's user",
        send: bearer(valid, { Impersonate_User: "admin" }),
        status: 200,
        direct: 200,
        forwarded: asTokenUser(),
      },
      {
        // Node's parser refuses a request with this many header lines whatever their size;
        // Go's net/http would parse it (it limits bytes only).
        name: "Impersonate-User after 2000 other headers",
        send: (path) => ({
          raw: rawRequest("GET", path, [
            `Authorization: Bearer ${valid}`,
            ...Array.from({ length: 2000 }, (_, i) => `X-Filler-${i}: ${i}`),
            "Impersonate-User: admin",
          ]),
        }),
        status: 431,
      },

      // --- forged forwarding and request-header authentication headers ---
      {
        name: "forged X-Forwarded-For",
        send: bearer(valid, { "X-Forwarded-For": "6.6.6.6" }),
        status: 200,
        direct: 200,
        forwarded: asTokenUser(noForgedSource),
      },
      {
        name: "forged x-forwarded-for twice, lower case",
        send: (path) => ({
          raw: rawRequest("GET", path, [
            `Authorization: Bearer ${valid}`,
            "x-forwarded-for: 6.6.6.6",
            "x-forwarded-for: 6.6.6.6, 10.0.0.1",
          ]),
        }),
        status: 200,
        forwarded: asTokenUser(noForgedSource),
      },
      {
        name: "forged Forwarded and X-Real-IP",
        send: bearer(valid, { Forwarded: "for=6.6.6.6;host=evil.example", "X-Real-IP": "6.6.6.6" }),
        status: 200,
        forwarded: asTokenUser(noForgedSource),
      },
      {
        name: "forged X-Forwarded-Host and X-Forwarded-Proto",
        send: bearer(valid, { "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http" }),
        status: 200,
        forwarded: asTokenUser(),
      },
      {
        name: "forged X-Remote-User, X-Remote-Group and X-Remote-Extra-*",
        send: bearer(valid, {
          "X-Remote-User": "admin",
          "X-Remote-Group": "system:masters",
          "X-Remote-Extra-Scopes": "all",
        }),
        status: 200,
        direct: 200,
        forwarded: asTokenUser(),
      },
      {
        name: "forged x-remote-user without a token",
        send: (path) => ({ path, headers: { "x-remote-user": "admin", "x-remote-group": "system:masters" } }),
        ...unauthorized,
      },

      // --- request smuggling and malformed HTTP/1.1 ---
      {
        name: "Transfer-Encoding chunked with Content-Length (CL.TE smuggling)",
        send: (path) => ({
          raw: rawRequest(
            "POST",
            path,
            [`Authorization: Bearer ${valid}`, "Content-Length: 6", "Transfer-Encoding: chunked"],
            "0\r\n\r\nGET /api/v1/namespaces/kube-system/secrets HTTP/1.1\r\nHost: x\r\n\r\n",
          ),
        }),
        status: 400,
        reason: "BadRequest",
      },
      {
        name: "Transfer-Encoding chunked, identity",
        send: (path) => ({
          raw: rawRequest(
            "POST",
            path,
            [`Authorization: Bearer ${valid}`, "Transfer-Encoding: chunked, identity"],
            "0\r\n\r\n",
          ),
        }),
        status: 400,
        reason: "BadRequest",
      },
      {
        name: "two different Content-Length headers",
        send: (path) => ({
          raw: rawRequest(
            "POST",
            path,
            [`Authorization: Bearer ${valid}`, "Content-Length: 2", "Content-Length: 3"],
            "{}",
          ),
        }),
        status: 400,
        reason: "BadRequest",
      },
      {
        name: "bare CR inside a header value",
        send: (path) => ({
          raw: rawRequest("GET", path, [`Authorization: Bearer ${valid}`, "X-Note: a\rImpersonate-User: admin"]),
        }),
        status: 400,
        reason: "BadRequest",
      },
      {
        name: "NUL inside a header value",
        send: (path) => ({ raw: rawRequest("GET", path, [`Authorization: Bearer ${valid}`, "X-Note: a\u0000b"]) }),
        status: 400,
        reason: "BadRequest",
      },
      {
        name: "obs-fold continuation smuggling an Impersonate-User",
        send: (path) => ({
          raw: rawRequest("GET", path, [`Authorization: Bearer ${valid}`, "X-Note: a", " Impersonate-User: admin"]),
        }),
        status: 400,
        reason: "BadRequest",
      },
      {
        name: "whitespace before the colon of Impersonate-User",
        send: (path) => ({
          raw: rawRequest("GET", path, [`Authorization: Bearer ${valid}`, "Impersonate-User : admin"]),
        }),
        status: 400,
        reason: "BadRequest",
      },
      {
        name: "invalid character in a header name",
        send: (path) => ({ raw: rawRequest("GET", path, [`Authorization: Bearer ${valid}`, "X-Bad\u0001Name: 1"]) }),
        status: 400,
        reason: "BadRequest",
      },
      {
        name: "invalid method",
        send: (path) => ({ raw: rawRequest("G\u0001T", path, [`Authorization: Bearer ${valid}`]) }),
        status: 400,
        reason: "BadRequest",
      },
      {
        name: "garbage instead of a request line",
        send: () => ({ raw: "\u0016\u0003\u0001 hello\r\n\r\n" }),
        status: 400,
        reason: "BadRequest",
      },
      {
        // Refused at the listener before authentication (issue 15, finding 4): kube-apiserver
        // serves an absolute-form target as its path (and answers this one 401); the gateway
        // does not take it, a deliberate difference (docs/serve.md).
        name: "absolute-form target with a bad token",
        send: (path) => ({
          raw: rawRequest("GET", `https://evil.example${path}`, ["Authorization: Bearer not-a-token"]),
        }),
        status: 400,
        reason: "BadRequest",
        direct: 401,
      },
      {
        name: "HTTP/1.0 request with a forged Impersonate-Group",
        send: (path) => ({
          raw: rawRequest(
            "GET",
            path,
            [`Authorization: Bearer ${valid}`, "Impersonate-Group: system:masters"],
            "",
            "HTTP/1.0",
          ),
        }),
        status: 403,
        reason: "Forbidden",
      },
      {
        name: "pipelined: forged impersonation, then no token, then a valid request",
        send: (path) => ({
          raw:
            rawRequest("GET", path, [`Authorization: Bearer ${valid}`, "Impersonate-User: admin"]) +
            rawRequest("GET", path, []) +
            rawRequest("GET", path, [`Authorization: Bearer ${valid}`, "Connection: close"]),
          expected: 3,
        }),
        status: [403, 401, 200],
        forwarded: (events) => {
          assert.equal(events.length, 1, "only the valid pipelined request may reach the API server");
          asTokenUser()(events);
        },
      },
      {
        name: "one header over --max-header-bytes",
        send: (path) => ({
          raw: rawRequest("GET", path, [`Authorization: Bearer ${valid}`, `X-Big: ${"a".repeat(300_000)}`]),
        }),
        status: 431,
      },
      {
        name: "many small headers over --max-header-bytes",
        send: (path) => ({
          raw: rawRequest("GET", path, [
            `Authorization: Bearer ${valid}`,
            ...Array.from({ length: 1500 }, (_, i) => `X-Filler-${i}: ${"b".repeat(200)}`),
          ]),
        }),
        status: 431,
      },
      {
        name: "request target over --max-header-bytes",
        send: (path) => ({
          raw: rawRequest("GET", `${path}&pad=${"c".repeat(300_000)}`, [`Authorization: Bearer ${valid}`]),
        }),
        status: 431,
      },

      // --- WebSocket bearer subprotocol abuse ---
      {
        name: "two bearer subprotocols",
        send: (path) => ({
          raw: rawRequest(
            "GET",
            `${path}&watch=1`,
            wsLines(`${bearerProtocol(valid)}, ${bearerProtocol(valid)}, v4.channel.k8s.io`),
          ),
        }),
        ...unauthorized,
      },
      {
        name: "bearer subprotocol with bad base64",
        send: (path) => ({
          raw: rawRequest(
            "GET",
            `${path}&watch=1`,
            wsLines("base64url.bearer.authorization.k8s.io.!!!*, v4.channel.k8s.io"),
          ),
        }),
        ...unauthorized,
      },
      {
        name: "bearer subprotocol with base64 padding",
        send: (path) => ({
          raw: rawRequest("GET", `${path}&watch=1`, wsLines(`${bearerProtocol(valid)}==, v4.channel.k8s.io`)),
        }),
        ...unauthorized,
      },
      {
        name: "a protocol list holding only the token",
        send: (path) => ({ raw: rawRequest("GET", `${path}&watch=1`, wsLines(bearerProtocol(valid))) }),
        ...unauthorized,
      },
      {
        name: "bearer subprotocol decoding to invalid UTF-8",
        send: (path) => ({
          raw: rawRequest(
            "GET",
            `${path}&watch=1`,
            wsLines(
              `base64url.bearer.authorization.k8s.io.${Buffer.from([0xff, 0xfe, 0x41]).toString("base64url")}, v4.channel.k8s.io`,
            ),
          ),
        }),
        ...unauthorized,
      },
      {
        name: "bearer subprotocol with a rogue token",
        send: (path) => ({
          raw: rawRequest("GET", `${path}&watch=1`, wsLines(`${bearerProtocol(rogue())}, v4.channel.k8s.io`)),
        }),
        ...unauthorized,
      },
      {
        name: "huge Sec-WebSocket-Protocol header",
        send: (path) => ({
          raw: rawRequest("GET", `${path}&watch=1`, wsLines(`v4.channel.k8s.io, ${"p".repeat(300_000)}`)),
        }),
        status: 431,
      },
      {
        name: "WebSocket upgrade with a forged impersonate-user",
        send: (path) => ({
          raw: rawRequest("GET", `${path}&watch=1`, [
            ...wsLines(`${bearerProtocol(valid)}, v4.channel.k8s.io`),
            "impersonate-user: admin",
          ]),
        }),
        status: 403,
        reason: "Forbidden",
        direct: 403,
      },
      {
        name: "SPDY upgrade without a token",
        send: (path) => ({
          raw: rawRequest("POST", path, [
            "Connection: Upgrade",
            "Upgrade: SPDY/3.1",
            "X-Stream-Protocol-Version: v4.channel.k8s.io",
          ]),
        }),
        ...unauthorized,
      },
      {
        name: "upgrade with Transfer-Encoding and Content-Length",
        send: (path) => ({
          raw: rawRequest(
            "GET",
            `${path}&watch=1`,
            [
              ...wsLines(`${bearerProtocol(valid)}, v4.channel.k8s.io`),
              "Content-Length: 5",
              "Transfer-Encoding: chunked",
            ],
            "0\r\n\r\n",
          ),
        }),
        status: 400,
        reason: "BadRequest",
      },
    );
  }

  before(async () => {
    bed = await startTestBed();
    const credentials = await prepareGatewayCredentials(bed);
    gateway = await startTestGateway(credentials, bedOidcFlags(bed));
    const applied = await bed.kubectl(["apply", "-f", "-"], undefined, rbac);
    assert.equal(applied.code, 0, applied.stderr);
    await gatewayReady(gateway, 30_000);
    ca = bed.ca.certPem;
    valid = bed.mint({ alg: "RS256", kid: "rsa-1", claims: claims() });
    buildCorpus();
  });
  after(async () => {
    await gateway?.gateway.stop();
    await bed?.stop();
  });

  const casePath = (marker: string) => `/api/v1/namespaces/default/pods?labelSelector=kogcase%3D${marker}`;
  const apiServerUrl = () => bed.apiServer?.url ?? "";
  const eventsFor = async (marker: string) =>
    ((await bed.apiServer?.auditEvents()) ?? []).filter((e) => e.requestURI.includes(`kogcase%3D${marker}`));

  async function exchange(url: string, send: Send): Promise<RawResponse[]> {
    if (isRaw(send)) {
      const result = await rawExchange(url, ca, send.raw, { expected: send.expected ?? 1 });
      return result.responses;
    }
    return [await clientExchange(url, ca, send)];
  }

  it("holds at least 60 cases with unique names", () => {
    assert.ok(cases.length >= 60, `only ${cases.length} cases`);
    assert.equal(new Set(cases.map((c) => c.name)).size, cases.length);
  });

  it("answers every case as it must, forwards nothing it refuses, and agrees with kube-apiserver", async (t) => {
    for (const [index, c] of cases.entries()) {
      await t.test(c.name, async () => {
        const marker = `h${String(index).padStart(3, "0")}`;
        const send = c.send(casePath(marker));
        const statuses = typeof c.status === "number" ? [c.status] : c.status;
        const responses = await exchange(gateway.url, send);
        assert.deepEqual(
          responses.map((r) => r.status),
          statuses,
          `gateway answered ${responses.map((r) => `${r.status} ${r.body.slice(0, 200)}`).join(" | ")}`,
        );
        for (const [i, response] of responses.entries()) {
          const status = statuses[i] ?? 0;
          if (status >= 400) assertStatusBody(response, status, status === statuses[0] ? c.reason : undefined, c.name);
        }
        const events = await eventsFor(marker);
        if (c.forwarded) c.forwarded(events);
        else
          assert.deepEqual(
            events.map((e) => e.requestURI),
            [],
            "a refused request reached the API server",
          );
        if (c.direct !== undefined) {
          // Its own marker: kube-apiserver audits the requests it refuses too.
          const direct = await exchange(apiServerUrl(), c.send(casePath(`d${marker}`)));
          assert.equal(
            direct[0]?.status,
            c.direct,
            `kube-apiserver answered ${direct[0]?.status} ${direct[0]?.body.slice(0, 200)}`,
          );
        }
      });
    }
  });

  it("still serves a valid request and reports live after the corpus", async () => {
    const marker = "sentinel";
    const response = await clientExchange(gateway.url, ca, {
      path: `/api/v1/namespaces/default/pods?labelSelector=kogcase%3D${marker}`,
      headers: { Authorization: `Bearer ${valid}` },
    });
    assert.equal(response.status, 200, response.body);
    await waitFor("the sentinel in the audit log", async () => (await eventsFor(marker)).length > 0, {
      timeoutMs: 10_000,
    });
    const live = await fetch(`${gateway.healthUrl}/livez`);
    assert.equal(live.status, 200);
    // Every refused case is still absent now that the audit log has caught up.
    for (const [index, c] of cases.entries()) {
      if (c.forwarded) continue;
      const events = await eventsFor(`h${String(index).padStart(3, "0")}`);
      assert.deepEqual(
        events.map((e) => e.requestURI),
        [],
        c.name,
      );
    }
  });
});
