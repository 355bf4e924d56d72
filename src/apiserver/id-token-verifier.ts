import { AuthenticationError } from "../authn/errors.ts";
import type { IssuerKeys } from "../authn/issuer-keys.ts";
import {
  decodeRawBase64Url,
  GoTypeError,
  goString,
  goStringOrArray,
  goUtf8Decode,
  structField,
  topLevelKeys,
  topLevelNumberSources,
} from "./go-json.ts";
import { goJsonTime, goTimeText } from "./go-time.ts";
import { checkHeaderTypes, type ParsedToken, verifySignature } from "./jws.ts";

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
  return verifyStandardClaims(token, expected);
}

/**
 * The JSON text of a top-level number claim, read again from the token: only for a time whose
 * float may not be its literal (beyond 2^53; go-oidc's json.Number reads the text).
 */
function numberSource(token: ParsedToken, key: string | undefined): string | undefined {
  const text = key === undefined ? undefined : payloadText(token);
  return text === undefined || key === undefined ? undefined : topLevelNumberSources(text)?.get(key);
}

/** The payload's JSON text, decoded again from the token (rare paths only). */
function payloadText(token: ParsedToken): string | undefined {
  const payload = decodeRawBase64Url(token.raw.split(".")[1] ?? "");
  return payload === undefined ? undefined : goUtf8Decode(payload);
}

/** go-oidc v2.5.0's idToken struct decode and its issuer, audience and time checks (verify.go Verify). */
function verifyStandardClaims(token: ParsedToken, expected: Expectations): number {
  const claims = token.payload;
  let issuer: string;
  let audience: string[];
  let expiry: number | undefined;
  let notBefore: number | undefined;
  try {
    let order: readonly string[] | undefined;
    const field = (name: string) => {
      const found = structField(claims, name);
      if (!found.ambiguous) return found;
      order ??= topLevelKeys(payloadText(token) ?? "") ?? [];
      return structField(claims, name, order);
    };
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
    // jsonTime (oidc.go): exp and iat are values, so null reaches UnmarshalJSON and fails; nbf is
    // a *jsonTime, which null leaves nil.
    const time = (claim: { present: boolean; value: unknown; key?: string }) =>
      goJsonTime(claim.value, () => numberSource(token, claim.key));
    const exp = field("exp");
    if (exp.present) expiry = time(exp);
    const iat = field("iat");
    if (iat.present) time(iat);
    const nbf = field("nbf");
    if (nbf.present && nbf.value !== null) notBefore = time(nbf);
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
  // A missing exp is Go's zero time: long expired. No leeway (go-oidc verify.go). Go compares
  // t.Expiry.Before(now) to the nanosecond: within the millisecond that starts at exp, Go's now
  // is already after it (bar the one nanosecond exactly on it), so that millisecond is expired.
  const expiresAt = expiry === undefined ? Number.NEGATIVE_INFINITY : expiry * 1000;
  if (expiresAt <= now) {
    throw new AuthenticationError(
      "EXPIRED",
      `oidc: token is expired (Token Expiry: ${expiry === undefined ? "0001-01-01T00:00:00Z" : goTimeText(expiry)})`,
    );
  }
  // now.Add(leeway).Before(nbf): nbf is whole seconds, so milliseconds decide it exactly.
  if (notBefore !== undefined && now + nbfLeewayMs < notBefore * 1000) {
    throw new AuthenticationError(
      "NOT_YET_VALID",
      `oidc: current time before the nbf (not before) time: ${goTimeText(notBefore)}`,
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
