// A compact JWS (an id token) as kube-apiserver reads it before and while go-oidc v2.5.0 hands it
// to go-jose v2.6.3 (gopkg.in/go-jose/go-jose.v2 jws.go parseSignedCompact, shared.go rawHeader):
// the unverified issuer kube-apiserver routes on (k8s.io/apiserver@v0.37.2
// plugin/pkg/authenticator/token/oidc/oidc.go untrustedIssuer), the protected header's typed
// fields, and the signature against an issuer's keys.
import { createPublicKey, type JsonWebKey, X509Certificate } from "node:crypto";
import { compactVerify } from "jose";
import { AuthenticationError } from "../authn/errors.ts";
import type { IssuerKeys } from "../authn/issuer-keys.ts";
import { decodeRawBase64Url, exceedsGoNestingDepth, goString, structField } from "./go-json.ts";

/** A token split and decoded once, before any issuer looks at it. */
export interface ParsedToken {
  readonly raw: string;
  /** The unverified `iss`, decoded as kube-apiserver's untrustedIssuer does. */
  readonly issuer: string;
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
}

/** kube-apiserver's untrustedIssuer plus the header; undefined when no issuer can claim it. */
export function parseToken(raw: string): ParsedToken | undefined {
  if (raw.trimStart().startsWith("{")) return undefined;
  const parts = raw.split(".");
  if (parts.length !== 3) return undefined;
  const payloadBytes = decodeRawBase64Url(parts[1] ?? "");
  if (!payloadBytes) return undefined;
  const payloadText = payloadBytes.toString("utf8");
  // kube-apiserver's json.Unmarshal refuses the whole token past this depth.
  if (exceedsGoNestingDepth(payloadText)) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(payloadText);
  } catch {
    return undefined;
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) return undefined;
  let issuer: string;
  try {
    issuer = goString(structField(payload as Record<string, unknown>, "iss").value ?? null);
  } catch {
    return undefined;
  }
  if (issuer === "accounts.google.com") issuer = "https://accounts.google.com";
  // go-jose accepts the header with or without base64 padding.
  const headerBytes = decodeRawBase64Url((parts[0] ?? "").replace(/=+$/, ""));
  let header: unknown;
  try {
    header = headerBytes ? JSON.parse(headerBytes.toString("utf8")) : undefined;
  } catch {
    header = undefined;
  }
  return {
    raw,
    issuer,
    header: header && typeof header === "object" && !Array.isArray(header) ? (header as Record<string, unknown>) : {},
    payload: payload as Record<string, unknown>,
  };
}

/**
 * go-jose's header sanitizing (shared.go, rawHeader.sanitized): the fields it knows must have
 * their types, or the token does not parse at all. Without this a numeric `kid` was read as
 * "no kid" and every key tried.
 */
export function checkHeaderTypes(header: Record<string, unknown>): void {
  const malformed = (field: string) =>
    new AuthenticationError("BAD_SIGNATURE", `oidc: malformed jwt: go-jose: failed to unmarshal ${field} header`);
  const present = (value: unknown) => value !== undefined && value !== null;
  for (const field of ["kid", "nonce"]) {
    if (present(header[field]) && typeof header[field] !== "string") throw malformed(field);
  }
  const jwk = header.jwk;
  if (present(jwk)) {
    try {
      if (typeof jwk !== "object" || Array.isArray(jwk)) throw malformed("jwk");
      createPublicKey({ key: jwk as JsonWebKey, format: "jwk" });
    } catch {
      throw malformed("jwk");
    }
  }
  const x5c = header.x5c;
  if (present(x5c)) {
    if (!Array.isArray(x5c) || x5c.length === 0) throw malformed("x5c");
    for (const cert of x5c) {
      if (typeof cert !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(cert)) throw malformed("x5c");
      try {
        new X509Certificate(Buffer.from(cert, "base64"));
      } catch {
        throw malformed("x5c");
      }
    }
  }
}

export async function verifySignature(token: ParsedToken, keys: IssuerKeys, alg: string): Promise<void> {
  const kid = typeof token.header.kid === "string" && token.header.kid !== "" ? token.header.kid : undefined;
  // go-oidc compares the payload the signature covers with the one it decoded itself: a
  // header such as {"b64":false,"crit":["b64"]} (RFC 7797) makes them differ, and is refused.
  const payload = decodeRawBase64Url(token.raw.split(".")[1] ?? "");
  const attempt = async () => {
    for (const { key } of keys.candidates(kid)) {
      try {
        const verified = await compactVerify(token.raw, key, { algorithms: [alg] });
        return payload !== undefined && Buffer.from(verified.payload).equals(payload);
      } catch {
        // try the next key
      }
    }
    return false;
  };
  if (await attempt()) return;
  if ((await keys.refresh()) && (await attempt())) return;
  throw new AuthenticationError(
    "BAD_SIGNATURE",
    "oidc: verify token: failed to verify signature: failed to verify id token signature",
  );
}
