// Decoding a token's JSON the way kube-apiserver's Go code does, so that odd or hostile tokens
// get the same decision. Go's encoding/json differs from JSON.parse-and-check in ways that
// matter here: struct fields match keys case-insensitively (go-oidc's idToken struct), `null`
// leaves a string empty instead of failing, and an array of strings may hold nulls ("").

/** Strict base64url without padding (Go's base64.RawURLEncoding). */
export function decodeRawBase64Url(segment: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(segment) || segment.length % 4 === 1) return undefined;
  return Buffer.from(segment, "base64url");
}

/** encoding/json's key folding for ASCII field names, including its two non-ASCII folds. */
export function foldEquals(key: string, field: string): boolean {
  if (key.length !== field.length) return false;
  return key.replaceAll("\u017f", "s").replaceAll("\u212a", "k").toLowerCase() === field;
}

/** The value encoding/json would store in a struct field named `field` (last fold match wins). */
export function structField(object: Record<string, unknown>, field: string): { present: boolean; value: unknown } {
  let found: { present: boolean; value: unknown } = { present: false, value: undefined };
  for (const [key, value] of Object.entries(object)) {
    if (key === field || foldEquals(key, field)) found = { present: true, value };
  }
  return found;
}

export class GoTypeError extends Error {}

const typeName = (value: unknown) => (Array.isArray(value) ? "array" : value === null ? "null" : typeof value);

/** json.Unmarshal into a Go string: null leaves "", anything but a string fails. */
export function goString(value: unknown): string {
  if (value === null) return "";
  if (typeof value === "string") return value;
  throw new GoTypeError(`json: cannot unmarshal ${typeName(value)} into Go value of type string`);
}

/** json.Unmarshal into a Go bool: null leaves false. */
export function goBool(value: unknown): boolean {
  if (value === null) return false;
  if (typeof value === "boolean") return value;
  throw new GoTypeError(`json: cannot unmarshal ${typeName(value)} into Go value of type bool`);
}

/** json.Unmarshal into []string: null gives none, null elements give "". */
export function goStringSlice(value: unknown): string[] {
  if (value === null) return [];
  if (!Array.isArray(value))
    throw new GoTypeError(`json: cannot unmarshal ${typeName(value)} into Go value of type []string`);
  return value.map(goString);
}

/** kube-apiserver's stringOrArray (oidc.go): an array of strings, else one string. */
export function goStringOrArray(value: unknown): string[] {
  try {
    return goStringSlice(value);
  } catch {
    return [goString(value)];
  }
}

/**
 * go-oidc's jsonTime: a JSON number, as Unix seconds; a float is truncated; a value outside
 * int64 converts the way Go does on amd64 (to the minimum int64), i.e. far in the past.
 */
export function goUnixSeconds(value: unknown): number {
  // json.Number also takes a JSON string holding a number literal.
  if (typeof value === "string" && /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(value)) value = Number(value);
  if (typeof value !== "number") throw new GoTypeError(`json: cannot unmarshal ${typeName(value)} into jsonTime`);
  // A literal beyond float64 (1e400: JSON.parse gives Infinity) fails json.Number's Float64.
  if (!Number.isFinite(value)) throw new GoTypeError("strconv.ParseFloat: value out of range");
  if (Number.isInteger(value) && Math.abs(value) < 2 ** 63) return value;
  const truncated = Math.trunc(value);
  return Math.abs(truncated) >= 2 ** 63 ? -(2 ** 63) : truncated;
}

/** encoding/json's scanner limit (maxNestingDepth): a document nested deeper does not decode. */
export const goMaxNestingDepth = 10_000;

/** Whether `text` nests arrays and objects deeper than encoding/json accepts (strings skipped). */
export function exceedsGoNestingDepth(text: string, max = goMaxNestingDepth): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped char
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
