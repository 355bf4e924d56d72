// Token times as kube-apiserver v1.37.2 reads them: go-oidc v2.5.0's jsonTime
// (github.com/coreos/go-oidc@v2.5.0+incompatible oidc.go, jsonTime.UnmarshalJSON), then Go's
// time.Unix (go1.26 src/time/time.go unixTime) and the time.Time comparisons of verify.go.
//
//   var n json.Number; json.Unmarshal(b, &n)
//   if t, err := n.Int64(); err == nil { unix = t } else { f, err := n.Float64(); ...; unix = int64(f) }
//   *j = jsonTime(time.Unix(unix, 0))
//
// Three Go behaviours decide odd values:
// - n.Int64() is strconv.ParseInt on the literal's text: an integer literal within int64 is exact,
//   even beyond float64's 2^53 (so the text matters, not the float JSON.parse makes of it);
// - int64(f) of a float64 outside int64 (or -0, NaN) is, on amd64 (CVTTSD2SQ), the "integer
//   indefinite" 0x8000000000000000: the minimum int64. The test bed's kube-apiserver is amd64;
//   arm64 saturates instead (a documented platform dependence of Go's conversion);
// - time.Unix stores sec + unixToInternal (62135596800, seconds from year 1 to 1970) in an int64,
//   which wraps past 2^63-1: an exp beyond 9223371974719179007 becomes a time in the far past.
import { GoTypeError } from "./go-json.ts";

const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;
const twoTo63 = 2 ** 63;
/** time/time.go: (1969*365 + 1969/4 - 1969/100 + 1969/400) * secondsPerDay. */
const unixToInternal = 62_135_596_800n;

/** encoding/json isValidNumber: the literal a json.Number accepts from a JSON string. */
const numberLiteral = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const integerLiteral = /^-?\d+$/;

const typeName = (value: unknown) => (Array.isArray(value) ? "array" : value === null ? "null" : typeof value);

/** Go's int64(f) on amd64: truncation, and the minimum int64 for anything outside int64. */
export function goFloatToInt64(f: number): bigint {
  if (Number.isNaN(f) || f >= twoTo63 || f < -twoTo63) return int64Min;
  return BigInt(Math.trunc(f));
}

/** jsonTime's Unix seconds from a json.Number's text (Int64, else int64(Float64)). */
export function goJsonNumberUnix(text: string): bigint {
  if (integerLiteral.test(text)) {
    const exact = BigInt(text);
    if (exact >= int64Min && exact <= int64Max) return exact;
  }
  // strconv.ParseFloat and Number() both round correctly; beyond float64 both overflow.
  const f = Number(text);
  if (!Number.isFinite(f))
    throw new GoTypeError(`strconv.ParseFloat: parsing ${JSON.stringify(text)}: value out of range`);
  return goFloatToInt64(f);
}

/**
 * The Unix seconds of the time.Time that time.Unix(sec, 0) makes, as the comparisons in
 * verify.go see it: sec, unless sec + unixToInternal wraps in int64 (then far in the past).
 * Large magnitudes come back as approximate numbers; their order against now is exact.
 */
export function goTimeUnixSeconds(sec: bigint): number {
  const internal = BigInt.asIntN(64, sec + unixToInternal);
  return Number(internal - unixToInternal);
}

/**
 * A claim decoded as go-oidc's jsonTime, as Unix seconds (see goTimeUnixSeconds). `source` gives
 * the JSON text of a number value; it is asked for only when the float JSON.parse made may not
 * be the literal (beyond 2^53), so the common token costs no extra work.
 */
export function goJsonTime(value: unknown, source: () => string | undefined): number {
  if (typeof value === "number") {
    // Below 2^53 the float is exact for integers and truncates like int64(f); no wrap is near.
    if (Number.isSafeInteger(value)) return value === 0 ? 0 : value;
    if (Number.isFinite(value) && Math.abs(value) < 2 ** 53) return Math.trunc(value) || 0;
    const text = source();
    if (text !== undefined) return goTimeUnixSeconds(goJsonNumberUnix(text));
    // Without the text (not expected): the float's own value.
    if (!Number.isFinite(value)) throw new GoTypeError("strconv.ParseFloat: value out of range");
    return goTimeUnixSeconds(goFloatToInt64(value));
  }
  // json.Unmarshal into a json.Number: a JSON string holding a number literal is taken as the
  // literal; null leaves "" (which neither Int64 nor Float64 parses); anything else fails.
  if (typeof value === "string") {
    if (!numberLiteral.test(value)) {
      throw new GoTypeError(
        `json: invalid number literal, trying to unmarshal ${JSON.stringify(JSON.stringify(value))} into Number`,
      );
    }
    return goTimeUnixSeconds(goJsonNumberUnix(value));
  }
  if (value === null) throw new GoTypeError('strconv.ParseFloat: parsing "": invalid syntax');
  throw new GoTypeError(`json: cannot unmarshal ${typeName(value)} into Go value of type json.Number`);
}

/** A Unix time for a message; times beyond what a Date holds are shown as seconds. */
export function goTimeText(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? `${seconds}s since 1970-01-01T00:00:00Z` : date.toISOString();
}
