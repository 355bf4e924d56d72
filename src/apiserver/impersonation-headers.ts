// The Impersonate-* headers that make the API server treat a request as the token's user
// (https://kubernetes.io/docs/reference/access-authn-authz/user-impersonation/), written as
// client-go's impersonating round tripper writes them (client-go transport/round_trippers.go).
import type { UserInfo } from "../authn/user.ts";
import { StatusError } from "../proxy/status.ts";
import { isNodeUsername, serviceAccountNamespace } from "./usernames.ts";

// RFC 7230 token characters (net/http isTokenTable), as client-go's legalHeaderKeyBytes.
const tokenChar = /^[!#$&'*+\-.^_`|~0-9A-Za-z]$/;

/** client-go's headerKeyEscape: every byte that is not a token char, and `%`, becomes %XX. */
export function escapeExtraKey(key: string): string {
  let out = "";
  for (const byte of Buffer.from(key, "utf8")) {
    const char = String.fromCharCode(byte);
    out += byte < 0x80 && tokenChar.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const headerBreaking = /[\0-\x08\n-\x1f\x7f]/;
const blankEnds = /^[ \t]|[ \t]$/;

/**
 * Why `value` cannot travel unchanged in a header, or undefined when it can. CR, LF and NUL would
 * end the line (and Node's client throws on them and on every other control character but HTAB);
 * Go's header parser (net/textproto readContinuedLineSlice) trims leading and trailing blanks, so
 * " system:admin" would arrive as "system:admin". kube-apiserver itself accepts such values from
 * a token: this is one of the gateway's documented deviations (docs/serve.md).
 */
export function headerRefusal(value: string): string | undefined {
  if (headerBreaking.test(value)) return "it contains a line break or another control character";
  if (blankEnds.test(value))
    return "it begins or ends with a space or tab, which the API server's header parser strips";
  return undefined;
}

/**
 * The first value of `user` an Impersonate-* header cannot carry unchanged, with the reason, or
 * undefined. `token` uses it to name the deviation; impersonationHeaders refuses on it.
 */
export function uncarriedValue(user: UserInfo): { field: string; value: string; reason: string } | undefined {
  const values: [string, string][] = [["username", user.username]];
  if (user.uid) values.push(["uid", user.uid]);
  for (const group of user.groups) values.push(["group", group]);
  for (const [key, list] of Object.entries(user.extra)) for (const value of list) values.push([`extra ${key}`, value]);
  for (const [field, value] of values) {
    const reason = headerRefusal(value);
    if (reason) return { field, value, reason };
  }
  return undefined;
}

/**
 * A header value as raw UTF-8 bytes: Node writes header strings as latin1, so each byte of
 * the UTF-8 encoding becomes one char. An identity the header cannot carry unchanged
 * (headerRefusal) is refused.
 */
export function headerValue(value: string): string {
  const reason = headerRefusal(value);
  if (reason) {
    throw new StatusError("UNSAFE_IDENTITY", 401, "Unauthorized", "Unauthorized", {
      cause: new Error(`identity cannot travel unchanged in an Impersonate-* header: ${reason}`),
    });
  }
  return Buffer.from(value, "utf8").toString("latin1");
}

/**
 * How kube-apiserver's impersonation filter would change `user`'s groups if the gateway sent it
 * as it is, or undefined when the API server would see exactly the identity the token gave
 * (plus system:authenticated, which its authenticated-group adder adds to a token user too:
 * k8s.io/apiserver@v0.37.2 pkg/authentication/group/authenticated_group_adder.go). The filter
 * (pkg/endpoints/filters/impersonation, v0.37.2) defaults the groups of some usernames, which the
 * direct OIDC path never does:
 *
 * - a ServiceAccount username with no Impersonate-Group gets system:serviceaccounts and
 *   system:serviceaccounts:<namespace> (impersonation.go and mode.go authorizeUsername:
 *   serviceaccount.MakeGroupNames), in legacy and in constrained impersonation;
 * - a node username with nothing but Impersonate-User becomes a member of system:nodes when the
 *   impersonator may use constrained impersonation's arbitrary-node mode (mode.go
 *   arbitraryNodeImpersonationMode, authorizeUsername): the answer would hang on the gateway's
 *   own RBAC (not with the chart's, with `impersonate:arbitrary-node` or a wildcard verb);
 * - system:anonymous gets system:unauthenticated unless it has that group already (mode.go check,
 *   impersonation.go), where the direct path adds no group to it at all.
 *
 * The gateway refuses these identities instead of granting more than kube-apiserver would: it
 * cannot send "no groups" as a header, and sending system:authenticated in place of the defaults
 * would change what nested impersonation, which shares these headers, asks for.
 */
export function impersonationWouldChange(user: UserInfo): string | undefined {
  if (user.groups.length === 0) {
    const namespace = serviceAccountNamespace(user.username);
    if (namespace !== undefined) {
      return `a ServiceAccount username without groups: impersonating it, kube-apiserver would add the groups system:serviceaccounts and system:serviceaccounts:${namespace}`;
    }
    if (isNodeUsername(user.username) && !user.uid && Object.keys(user.extra).length === 0) {
      return "a node username without groups, uid or extra: impersonating it, kube-apiserver adds the group system:nodes when the gateway may use constrained impersonation's arbitrary-node mode";
    }
  }
  if (user.username === "system:anonymous" && !user.groups.includes("system:unauthenticated")) {
    return "system:anonymous: impersonating it, kube-apiserver would add the group system:unauthenticated";
  }
  return undefined;
}

/**
 * The extra key as kube-apiserver reads it back from Impersonate-Extra-<escaped key>: it
 * lower-cases the header name (ASCII only: Go's strings.ToLower leaves %XX escapes' meaning
 * alone) and unescapes it. Lower-casing before escaping gives the same key.
 */
const asciiLower = (key: string) => key.replace(/[A-Z]/g, (c) => c.toLowerCase());
export const asciiLowerExtraKey = asciiLower;

/**
 * Extra keys (lower-cased) the gateway's credentials may not impersonate, found by the start-up
 * check (src/server/impersonation-rights.ts): they are left out of every request, as
 * kube-oidc-proxy sends only the extras it may, rather than having the API server refuse every
 * request with 403. Per process, as the gateway is (--workers runs each in its own process).
 */
let withheld: ReadonlySet<string> = new Set();
/** Bumped when `withheld` changes, so headers written before are written again. */
let withheldGeneration = 0;

/** Leaves these extra keys out of every identity from now on ([] sends them all again). */
export function withholdExtras(keys: Iterable<string>): void {
  withheld = new Set([...keys].map(asciiLower));
  withheldGeneration++;
}

/** Whether `key` is one of those extras (for extras written elsewhere, e.g. --extra-user-headers). */
export function isExtraWithheld(key: string): boolean {
  return withheld.has(asciiLower(key));
}

/**
 * Headers already written for an identity. The token cache hands back the same UserInfo for
 * every request of a cached token, so each identity is escaped once, not on every request.
 */
const written = new WeakMap<
  UserInfo,
  { readonly generation: number; readonly headers: readonly (readonly [string, string])[] }
>();

/** [name, value] pairs, one Impersonate-Group line per group (a comma-joined one is one group). */
export function impersonationHeaders(user: UserInfo): readonly (readonly [string, string])[] {
  const known = written.get(user);
  if (known?.generation === withheldGeneration) return known.headers;
  const headers: [string, string][] = [["Impersonate-User", headerValue(user.username)]];
  if (user.uid) headers.push(["Impersonate-Uid", headerValue(user.uid)]);
  for (const group of user.groups) headers.push(["Impersonate-Group", headerValue(group)]);
  for (const [key, values] of Object.entries(user.extra)) {
    const lower = asciiLower(key);
    if (withheld.has(lower)) continue;
    const name = `Impersonate-Extra-${escapeExtraKey(lower)}`;
    for (const value of values) headers.push([name, headerValue(value)]);
  }
  written.set(user, { generation: withheldGeneration, headers });
  return headers;
}

/** The first Impersonate-* header a client sent, in any letter case, if any. */
export function clientImpersonationHeader(rawHeaders: readonly string[]): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? "";
    if (name.toLowerCase().startsWith("impersonate-")) return name;
  }
  return undefined;
}
