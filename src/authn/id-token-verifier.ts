// Verifying an id token as go-oidc v2's IDTokenVerifier.Verify does (github.com/coreos/go-oidc
// verify.go), for kube-apiserver's JWT authenticators and their distributed-claims verifiers:
// algorithm, signature against the issuer's keys, go-oidc's claims decode, issuer, audience,
// exp (no leeway) and nbf (one minute).
import { createPublicKey, type JsonWebKey, X509Certificate } from "node:crypto";
import { compactVerify } from "jose";
import { AuthenticationError } from "./errors.ts";
import { decodeRawBase64Url, GoTypeError, goString, goStringOrArray, goUnixSeconds, structField } from "./go-json.ts";
import type { IssuerKeys } from "./issuer-keys.ts";
import type { ParsedToken } from "./jwt-authenticator.ts";

export interface Expectations {
  readonly issuerUrl: string;
  readonly audiences: readonly string[];
  readonly algorithms: readonly string[];
}

const nbfLeewayMs = 60_000;

/** Resolves with the token's `exp` in epoch milliseconds; throws an AuthenticationError. */
export async function verifyIdToken(token: ParsedToken, keys: IssuerKeys, expected: Expectations): Promise<number> {
  const notReady = keys.notReadyReason;
  if (notReady) {
    throw new AuthenticationError("ISSUER_NOT_READY", `oidc: authenticator not initialized: ${notReady.message}`);
  }
  const alg = token.header.alg;
  if (typeof alg !== "string" || !expected.algorithms.includes(alg)) {
    throw new AuthenticationError(
      "UNSUPPORTED_ALG",
      `oidc: id token signed with unsupported algorithm, expected ${JSON.stringify(expected.algorithms)} got ${JSON.stringify(alg)}`,
    );
  }
  checkHeaderTypes(token.header);
  await verifySignature(token, keys, alg);
  return verifyStandardClaims(token.payload, expected);
}

/**
 * go-jose's header sanitizing (shared.go, rawHeader.sanitized): the fields it knows must have
 * their types, or the token does not parse at all. Without this a numeric `kid` was read as
 * "no kid" and every key tried.
 */
function checkHeaderTypes(header: Record<string, unknown>): void {
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

/** A Unix time for a message; times beyond what a Date holds are shown as seconds. */
function timeText(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? `${seconds}s since 1970-01-01T00:00:00Z` : date.toISOString();
}

async function verifySignature(token: ParsedToken, keys: IssuerKeys, alg: string): Promise<void> {
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

/** go-oidc's idToken struct decode and its issuer, audience and time checks. */
function verifyStandardClaims(claims: Record<string, unknown>, expected: Expectations): number {
  let issuer: string;
  let audience: string[];
  let expiry: number | undefined;
  let notBefore: number | undefined;
  try {
    const field = (name: string) => structField(claims, name);
    issuer = field("iss").present ? goString(field("iss").value) : "";
    if (field("sub").present) goString(field("sub").value);
    if (field("nonce").present) goString(field("nonce").value);
    if (field("at_hash").present) goString(field("at_hash").value);
    const aud = field("aud");
    // go-oidc's audience: a string (null leaves "") or an array of strings.
    audience = !aud.present
      ? []
      : typeof aud.value === "string" || aud.value === null
        ? [goString(aud.value)]
        : goStringOrArray(aud.value);
    const exp = field("exp");
    if (exp.present) expiry = goUnixSeconds(exp.value);
    const iat = field("iat");
    if (iat.present) goUnixSeconds(iat.value);
    const nbf = field("nbf");
    if (nbf.present && nbf.value !== null) notBefore = goUnixSeconds(nbf.value);
    checkClaimSources(field("_claim_names"), field("_claim_sources"));
  } catch (error) {
    if (error instanceof AuthenticationError) throw error;
    throw new AuthenticationError("BAD_CLAIMS", `oidc: failed to unmarshal claims: ${(error as Error).message}`);
  }
  if (issuer !== expected.issuerUrl) {
    throw new AuthenticationError(
      "WRONG_ISSUER",
      `oidc: id token issued by a different provider, expected ${JSON.stringify(expected.issuerUrl)} got ${JSON.stringify(issuer)}`,
    );
  }
  const audiences = expected.audiences;
  if (!audience.some((a) => audiences.includes(a))) {
    throw new AuthenticationError(
      "WRONG_AUDIENCE",
      audiences.length === 1
        ? `oidc: expected audience ${JSON.stringify(audiences[0])} got ${JSON.stringify(audience)}`
        : `oidc: expected audience in ${JSON.stringify(audiences)} got ${JSON.stringify(audience)}`,
    );
  }
  const now = Date.now();
  // A missing exp is Go's zero time: long expired. No leeway (go-oidc verify.go).
  const expiresAt = expiry === undefined ? Number.NEGATIVE_INFINITY : expiry * 1000;
  if (expiresAt < now) {
    throw new AuthenticationError(
      "EXPIRED",
      `oidc: token is expired (Token Expiry: ${expiry === undefined ? "0001-01-01T00:00:00Z" : timeText(expiry)})`,
    );
  }
  if (notBefore !== undefined && now + nbfLeewayMs < notBefore * 1000) {
    throw new AuthenticationError(
      "NOT_YET_VALID",
      `oidc: current time before the nbf (not before) time: ${timeText(notBefore)}`,
    );
  }
  return expiresAt;
}

function checkClaimSources(
  names: { present: boolean; value: unknown },
  sources: { present: boolean; value: unknown },
): void {
  const asObject = (value: unknown, what: string) => {
    if (value === null || value === undefined) return {};
    if (typeof value !== "object" || Array.isArray(value)) throw new GoTypeError(`json: cannot unmarshal ${what}`);
    return value as Record<string, unknown>;
  };
  const nameMap = names.present ? asObject(names.value, "_claim_names") : {};
  const sourceMap = sources.present ? asObject(sources.value, "_claim_sources") : {};
  for (const source of Object.values(sourceMap)) {
    const src = asObject(source, "claim source");
    if ("endpoint" in src) goString(src.endpoint);
    if ("access_token" in src) goString(src.access_token);
  }
  for (const value of Object.values(nameMap)) {
    const source = goString(value);
    if (source === "") throw new AuthenticationError("BAD_CLAIMS", "oidc: failed to obtain source from claim name");
    if (!(source in sourceMap)) throw new AuthenticationError("BAD_CLAIMS", "oidc: source does not exist");
  }
}
