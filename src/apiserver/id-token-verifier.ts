import { AuthenticationError } from "../authn/errors.ts";
import type { IssuerKeys } from "../authn/issuer-keys.ts";
import { foldEquals, GoTypeError, goString, goStringOrArray, type Member, topLevelMembers } from "./go-json.ts";
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

/** go-oidc v2.5.0's idToken struct decode and its issuer, audience and time checks (verify.go Verify). */
function verifyStandardClaims(token: ParsedToken, expected: Expectations): number {
  let issuer: string;
  let audience: string[];
  let expiry: number | undefined;
  let notBefore: number | undefined;
  try {
    // Each member that names a field (exactly or case-folded) is applied in document order, as
    // encoding/json does (decode.go object); JSON.parse keeps only one of each name, so the
    // members are read from the text.
    const members = topLevelMembers(token.payloadText) ?? [];
    const occurrences = (name: string) => members.filter((m) => m.name === name || foldEquals(m.name, name));
    /** A Go string field: null is a no-op, so the last non-null member stays ("" if none). */
    const stringField = (name: string): string | undefined => {
      let value: string | undefined;
      for (const member of occurrences(name)) {
        if (member.value === null) value ??= "";
        else value = goString(member.value);
      }
      return value;
    };
    /** A field every member sets in turn (custom UnmarshalJSON, pointers, maps): the last one. */
    const lastOf = <T>(name: string, decode: (member: Member) => T): T | undefined => {
      let value: T | undefined;
      for (const member of occurrences(name)) value = decode(member);
      return value;
    };
    issuer = token.issClaim ?? stringField("iss") ?? "";
    stringField("sub");
    stringField("nonce");
    stringField("at_hash");
    // go-oidc's audience: a string (null leaves "") or an array of strings.
    audience =
      lastOf("aud", ({ value }) =>
        typeof value === "string" || value === null ? [goString(value)] : goStringOrArray(value),
      ) ?? [];
    // jsonTime (oidc.go): exp and iat are values, so null reaches UnmarshalJSON and fails; nbf is
    // a *jsonTime, which null leaves nil.
    const time = (member: Member) => goJsonTime(member.value, () => member.text);
    expiry = lastOf("exp", time);
    lastOf("iat", time);
    notBefore = lastOf("nbf", (member) => (member.value === null ? undefined : time(member)));
    const claimMap = (name: string) => {
      const value = lastOf(name, (member) => member.value);
      return { present: value !== undefined, value };
    };
    checkClaimSources(claimMap("_claim_names"), claimMap("_claim_sources"));
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
