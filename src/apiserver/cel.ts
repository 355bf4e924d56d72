// CEL for AuthenticationConfiguration claim mappings and validation rules, as kube-apiserver
// compiles them (k8s.io/apiserver pkg/authentication/cel): a `claims` map for claim mappings
// and claim validation rules, a `user` object (username, uid, groups, extra) for user validation
// rules, optional types (`claims.?x.orValue(…)`), the string extension and the `sets` extension.
// Expressions are compiled and type-checked once, at load; evaluation only runs them.
//
// The CEL library (@marcbachmann/cel-js) differs from cel-go v0.29.2 in functions kube-apiserver
// enables; those are ported here with Go's semantics (see goFunctions) and the library's own are
// bypassed by renaming the calls in each parsed tree before it is checked (`renamed`).
import { Environment } from "@marcbachmann/cel-js";
import { RE2JS } from "re2js";

/** What an expression must produce: a string, a string or list of strings, or a bool. */
export type CelOutput = "string" | "strings" | "bool";
type CheckedOutput = CelOutput | "any";

export class CelError extends Error {}

class Sets {}

/** `user` in userValidationRules: kube-apiserver's typed user info, so `user.username` is a string. */
class UserInfoValue {
  readonly username: string;
  readonly uid: string;
  readonly groups: string[];
  readonly extra: Record<string, string[]>;
  constructor(user: {
    username: string;
    uid?: string;
    groups: readonly string[];
    extra: Readonly<Record<string, readonly string[]>>;
  }) {
    this.username = user.username;
    this.uid = user.uid ?? "";
    this.groups = [...user.groups];
    this.extra = Object.fromEntries(Object.entries(user.extra).map(([k, v]) => [k, [...v]]));
  }
}

export const userValue = (user: ConstructorParameters<typeof UserInfoValue>[0]) => new UserInfoValue(user);

function setOf(values: unknown): Set<string> {
  return new Set((Array.isArray(values) ? values : []).map((v) => JSON.stringify(v)));
}

function environment(variable: "claims" | "user"): Environment {
  const base = new Environment({ enableOptionalTypes: true, limits: { maxAstNodes: 10_000, maxDepth: 250 } } as never);
  const withVariable =
    variable === "claims"
      ? base.registerVariable("claims", "map")
      : base
          .registerType("UserInfo", {
            fields: { username: "string", uid: "string", groups: "list<string>", extra: "map<string, list<string>>" },
            ctor: UserInfoValue,
          } as never)
          .registerVariable("user", "UserInfo");
  return (
    withVariable
      // Kubernetes' CEL library: the sets extension (cel-go ext.Sets) …
      .registerType("Sets", { fields: {}, ctor: Sets } as never)
      .registerConstant("sets", "Sets", new Sets())
      .registerFunction("Sets.contains(list, list): bool", (_: Sets, list: unknown[], sub: unknown[]) => {
        const all = setOf(list);
        return [...setOf(sub)].every((v) => all.has(v));
      })
      .registerFunction("Sets.equivalent(list, list): bool", (_: Sets, a: unknown[], b: unknown[]) => {
        const left = setOf(a);
        const right = setOf(b);
        return left.size === right.size && [...left].every((v) => right.has(v));
      })
      .registerFunction("Sets.intersects(list, list): bool", (_: Sets, a: unknown[], b: unknown[]) => {
        const right = setOf(b);
        return [...setOf(a)].some((v) => right.has(v));
      })
  );
}

// ---- cel-go's functions, ported ------------------------------------------------------------------

const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;
const MAX_UINT64 = 2n ** 64n - 1n;
const TWO_TO_63 = 2 ** 63;
const TWO_TO_64 = 2 ** 64;

/** The library's uint values. */
interface Uint {
  valueOf(): bigint;
}

/** Functions whose library version differs from cel-go: calls to them are renamed to `kog_<name>`. */
const renamed = new Set([
  "matches",
  "lowerAscii",
  "upperAscii",
  "indexOf",
  "lastIndexOf",
  "substring",
  "trim",
  "split",
  "string",
  "int",
  "uint",
  "double",
  "bool",
]);
const RENAMED_PREFIX = "kog_";

// Go's regexp (RE2 syntax) through re2js. Patterns are compiled once: constant ones at load,
// others on first use, kept in a bounded cache.
const regexCache = new Map<string, RE2JS | Error>();
const REGEX_CACHE_MAX = 1000;
function goRegexp(pattern: string): RE2JS {
  let compiled = regexCache.get(pattern);
  if (compiled === undefined) {
    try {
      compiled = RE2JS.compile(pattern);
    } catch (error) {
      compiled = new CelError(
        `error parsing regexp: ${(error as Error).message.replace(/^error parsing regexp: /, "")}`,
      );
    }
    if (regexCache.size >= REGEX_CACHE_MAX) regexCache.delete(regexCache.keys().next().value as string);
    regexCache.set(pattern, compiled);
  }
  if (compiled instanceof Error) throw compiled;
  return compiled;
}

const runes = (s: string): string[] => Array.from(s);
const utf8Length = (s: string): number => Buffer.byteLength(s);
const indexError = (i: bigint | number) => new CelError(`index out of range: ${i}`);

/** cel-go ext/strings.go indexOfOffset: offsets and results in code points. */
function indexOfOffset(str: string, sub: string, offset: bigint): bigint {
  const off = Number(offset);
  if (off < 0) throw indexError(offset);
  const chars = runes(str);
  if (sub === "") return off > chars.length ? BigInt(chars.length) : offset;
  const subChars = runes(sub);
  if (off >= chars.length) return -1n;
  outer: for (let i = off; i < chars.length - (subChars.length - 1); i++) {
    for (let j = 0; j < subChars.length; j++) if (chars[i + j] !== subChars[j]) continue outer;
    return BigInt(i);
  }
  return -1n;
}

/** cel-go ext/strings.go lastIndexOfOffset. */
function lastIndexOfOffset(str: string, sub: string, offset: bigint): bigint {
  let off = Number(offset);
  if (off < 0) throw indexError(offset);
  const chars = runes(str);
  if (sub === "") return off > chars.length ? BigInt(chars.length) : offset;
  const subChars = runes(sub);
  if (off >= chars.length) return -1n;
  if (off > chars.length - subChars.length) off = chars.length - subChars.length;
  outer: for (let i = off; i >= 0; i--) {
    for (let j = 0; j < subChars.length; j++) if (chars[i + j] !== subChars[j]) continue outer;
    return BigInt(i);
  }
  return -1n;
}

// Go's unicode.IsSpace, which strings.TrimSpace trims (JavaScript's trim also takes U+FEFF and not U+0085).
const GO_SPACE = "[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const goTrimSpace = new RegExp(`^${GO_SPACE}+|${GO_SPACE}+$`, "g");

/** Go's strings.SplitN (n < 0: all; an empty separator splits into code points). */
function goSplitN(s: string, sep: string, n: number): string[] {
  if (n === 0) return [];
  if (sep === "") {
    const chars = runes(s);
    if (n < 0 || n >= chars.length) return chars;
    return [...chars.slice(0, n - 1), chars.slice(n - 1).join("")];
  }
  const parts = s.split(sep);
  if (n < 0 || parts.length <= n) return parts;
  return [...parts.slice(0, n - 1), parts.slice(n - 1).join(sep)];
}

/** Go's strings.Replace (n < 0: all; an empty `old` matches before each code point and at the end). */
function goReplace(s: string, old: string, replacement: string, n: number): string {
  if (old === replacement || n === 0) return s;
  if (old === "") {
    const chars = runes(s);
    let out = "";
    let done = 0;
    for (let i = 0; i <= chars.length; i++) {
      if (n < 0 || done < n) {
        out += replacement;
        done++;
      }
      if (i < chars.length) out += chars[i];
    }
    return out;
  }
  if (n < 0) return s.replaceAll(old, replacement);
  let out = "";
  let from = 0;
  for (let done = 0; done < n; done++) {
    const at = s.indexOf(old, from);
    if (at < 0) break;
    out += s.slice(from, at) + replacement;
    from = at + old.length;
  }
  return out + s.slice(from);
}

/** fmt.Sprintf("%g", d), as cel-go's string(double) (common/types/double.go ConvertToType). */
export function formatGoDouble(d: number): string {
  if (Number.isNaN(d)) return "NaN";
  if (d === Number.POSITIVE_INFINITY) return "+Inf";
  if (d === Number.NEGATIVE_INFINITY) return "-Inf";
  if (d === 0) return Object.is(d, -0) ? "-0" : "0";
  const sign = d < 0 ? "-" : "";
  // toExponential() without digits is the shortest round-trip form, as strconv's shortest.
  const [mantissa, exponent] = Math.abs(d).toExponential().split("e") as [string, string];
  const exp = Number(exponent);
  const digits = mantissa.replace(".", "");
  if (exp < -4 || exp >= 6) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp);
    return `${sign}${m}e${exp < 0 ? "-" : "+"}${e < 10 ? "0" : ""}${e}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const whole = exp + 1;
  if (digits.length <= whole) return sign + digits + "0".repeat(whole - digits.length);
  return `${sign}${digits.slice(0, whole)}.${digits.slice(whole)}`;
}

const overflow = () => new CelError("integer overflow");
/**
 * The library checks +, - and * for int64 overflow but not negation or division (-(-2^63),
 * -2^63 / -1), which cel-go refuses (common/types/overflow.go): guardIntegerOverflow below adds
 * those checks to the checked tree, and the conversions check what reaches them.
 */
const int64 = (i: bigint): bigint => {
  if (i < MIN_INT64 || i > MAX_INT64) throw overflow();
  return i;
};
/**
 * Wraps the checked tree's int negation, division and modulo in cel-go's overflow checks
 * (cel-go common/types/int.go Negate, Divide, Modulo with common/types/overflow.go
 * negateInt64Checked, divideInt64Checked, moduloInt64Checked): -(-2^63), -2^63 / -1 and
 * -2^63 % -1 are "integer overflow" errors there. The library checks only +, - and *, and its
 * operator overloads cannot be replaced, so the nodes' handlers (set by the type check, read at
 * each evaluation) are wrapped instead. Without it, -(-2^63) became 2^63 and reached `%`, which
 * hid it (`-(-9223372036854775808) % 2` gave 0 where kube-apiserver refuses the token: found by
 * test/authn/differential-cel-generated.test.ts, seed 1032277460).
 */
function guardIntegerOverflow(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) guardIntegerOverflow(item);
    return;
  }
  if (!isNode(node)) return;
  guardIntegerOverflow(node.args);
  const checked = node as AstNode & { handle?: (...args: unknown[]) => unknown };
  const handle = checked.handle;
  if (typeof handle !== "function") return;
  if (node.op === "-_") {
    checked.handle = (...args: unknown[]) => {
      const result = handle(...args);
      return typeof result === "bigint" ? int64(result) : result;
    };
  } else if (node.op === "/" || node.op === "%") {
    checked.handle = (left: unknown, right: unknown, ...rest: unknown[]) => {
      if (left === MIN_INT64 && right === -1n) throw overflow();
      return handle(left, right, ...rest);
    };
  }
}

const conversionError = (from: string, to: string) => new CelError(`type conversion error from '${from}' to '${to}'`);

/** strconv.ParseFloat(s, 64): decimal or hexadecimal (p exponent) forms, inf/infinity/nan; out of range is an error. */
function goParseFloat(s: string): number {
  const lower = s.toLowerCase();
  const special: Record<string, number> = {
    inf: Number.POSITIVE_INFINITY,
    "+inf": Number.POSITIVE_INFINITY,
    "-inf": Number.NEGATIVE_INFINITY,
    infinity: Number.POSITIVE_INFINITY,
    "+infinity": Number.POSITIVE_INFINITY,
    "-infinity": Number.NEGATIVE_INFINITY,
    nan: Number.NaN,
  };
  if (Object.hasOwn(special, lower)) return special[lower] as number;
  let value: number;
  const hex = /^([+-]?)0x([0-9a-f]*)(?:\.([0-9a-f]*))?p([+-]?[0-9]+)$/.exec(lower);
  if (hex && `${hex[2]}${hex[3] ?? ""}` !== "") {
    const fraction = hex[3] ?? "";
    const mantissa = Number.parseInt(`${hex[2]}${fraction}` || "0", 16);
    value = mantissa * 2 ** (Number(hex[4]) - 4 * fraction.length);
    if (hex[1] === "-") value = -value;
  } else if (/^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[+-]?[0-9]+)?$/.test(lower)) {
    value = Number(s);
  } else {
    throw conversionError("string", "double");
  }
  if (!Number.isFinite(value)) throw conversionError("string", "double");
  return value;
}

function doubleToInt(d: number): bigint {
  // cel-go common/types/overflow.go doubleToInt64Checked: -2^63 itself is refused too.
  if (!Number.isFinite(d) || d <= -TWO_TO_63 || d >= TWO_TO_63) throw overflow();
  return BigInt(Math.trunc(d));
}

function registerGoFunctions(env: Environment): Environment {
  const f = (signature: string, handler: (...args: never[]) => unknown) => {
    env.registerFunction(signature, handler as never);
  };
  const k = RENAMED_PREFIX;
  // Regular expressions (cel-go stdlib matches; Kubernetes' library.Regex find and findAll).
  f(`string.${k}matches(string): bool`, (s: string, re: string) => goRegexp(re).test(s));
  f(`${k}matches(string, string): bool`, (s: string, re: string) => goRegexp(re).test(s));
  f("string.find(string): string", (s: string, re: string) => {
    const m = goRegexp(re).matcher(s);
    return m.find() ? m.group() : "";
  });
  const findAll = (s: string, re: string, limit: bigint) => {
    const out: string[] = [];
    if (limit === 0n) return out;
    const m = goRegexp(re).matcher(s);
    while ((limit < 0n || out.length < limit) && m.find()) out.push(m.group() ?? "");
    return out;
  };
  f("string.findAll(string): list<string>", (s: string, re: string) => findAll(s, re, -1n));
  f("string.findAll(string, int): list<string>", findAll);
  // cel-go ext/strings.go (ext.Strings version 2).
  f(`string.${k}lowerAscii(): string`, (s: string) => s.replace(/[A-Z]+/g, (m) => m.toLowerCase()));
  f(`string.${k}upperAscii(): string`, (s: string) => s.replace(/[a-z]+/g, (m) => m.toUpperCase()));
  f("string.charAt(int): string", (s: string, index: bigint) => {
    const chars = runes(s);
    if (index < 0n || index > BigInt(chars.length)) throw indexError(index);
    return index === BigInt(chars.length) ? "" : chars[Number(index)];
  });
  f(`string.${k}indexOf(string): int`, (s: string, sub: string) => indexOfOffset(s, sub, 0n));
  f(`string.${k}indexOf(string, int): int`, indexOfOffset);
  f(`string.${k}lastIndexOf(string): int`, (s: string, sub: string) => {
    const length = runes(s).length;
    if (sub === "") return BigInt(length);
    if (utf8Length(s) < utf8Length(sub)) return -1n;
    return lastIndexOfOffset(s, sub, BigInt(length - 1));
  });
  f(`string.${k}lastIndexOf(string, int): int`, lastIndexOfOffset);
  f(`string.${k}substring(int): string`, (s: string, start: bigint) => {
    const chars = runes(s);
    if (start < 0n || start > BigInt(chars.length)) throw indexError(start);
    return chars.slice(Number(start)).join("");
  });
  f(`string.${k}substring(int, int): string`, (s: string, start: bigint, end: bigint) => {
    const chars = runes(s);
    if (start > end) throw new CelError(`invalid substring range. start: ${start}, end: ${end}`);
    if (start < 0n || start > BigInt(chars.length)) throw indexError(start);
    if (end < 0n || end > BigInt(chars.length)) throw indexError(end);
    return chars.slice(Number(start), Number(end)).join("");
  });
  f(`string.${k}trim(): string`, (s: string) => s.replace(goTrimSpace, ""));
  f(`string.${k}split(string): list<string>`, (s: string, sep: string) => goSplitN(s, sep, -1));
  f(`string.${k}split(string, int): list<string>`, (s: string, sep: string, n: bigint) =>
    goSplitN(s, sep, n < -1n ? -1 : n > 2n ** 31n ? 2 ** 31 : Number(n)),
  );
  f("string.replace(string, string): string", (s: string, from: string, to: string) => goReplace(s, from, to, -1));
  f("string.replace(string, string, int): string", (s: string, from: string, to: string, n: bigint) =>
    goReplace(s, from, to, n < -1n ? -1 : n > 2n ** 31n ? 2 ** 31 : Number(n)),
  );
  // Conversions (cel-go common/types: ConvertToType of each type), with Go's parsing and range errors.
  f(`${k}string(string): string`, (s: string) => s);
  f(`${k}string(bool): string`, (b: boolean) => String(b));
  f(`${k}string(int): string`, (i: bigint) => String(int64(i)));
  f(`${k}string(uint): string`, (u: Uint) => String(u.valueOf()));
  f(`${k}string(double): string`, formatGoDouble);
  f(`${k}string(bytes): string`, (b: Uint8Array) => {
    try {
      return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(b);
    } catch {
      throw new CelError("invalid UTF-8 in bytes, cannot convert to string");
    }
  });
  f(`${k}int(int): int`, int64);
  f(`${k}int(uint): int`, (u: Uint) => {
    if (u.valueOf() > MAX_INT64) throw overflow();
    return u.valueOf();
  });
  f(`${k}int(double): int`, doubleToInt);
  f(`${k}int(string): int`, (s: string) => {
    // strconv.ParseInt(s, 10, 64)
    if (!/^[+-]?[0-9]+$/.test(s)) throw conversionError("string", "int");
    const i = BigInt(s);
    if (i < MIN_INT64 || i > MAX_INT64) throw conversionError("string", "int");
    return i;
  });
  f(`${k}double(double): double`, (d: number) => d);
  f(`${k}double(int): double`, (i: bigint) => Number(int64(i)));
  f(`${k}double(uint): double`, (u: Uint) => Number(u.valueOf()));
  f(`${k}double(string): double`, goParseFloat);
  f(`${k}bool(bool): bool`, (b: boolean) => b);
  f(`${k}bool(string): bool`, (s: string) => {
    // strconv.ParseBool
    if (["1", "t", "T", "TRUE", "true", "True"].includes(s)) return true;
    if (["0", "f", "F", "FALSE", "false", "False"].includes(s)) return false;
    throw conversionError("string", "bool");
  });
  // uint values are the library's; uint(…) through the library's own uint(int) once range-checked.
  const uintOf = new Environment().registerVariable("x", "int").parse("uint(x)") as unknown as (
    context: Record<string, unknown>,
  ) => Uint;
  const toUint = (i: bigint): Uint => uintOf({ x: i });
  f(`${k}uint(uint): uint`, (u: Uint) => u);
  f(`${k}uint(int): uint`, (i: bigint) => {
    if (int64(i) < 0n) throw new CelError("unsigned integer overflow");
    return toUint(i);
  });
  f(`${k}uint(double): uint`, (d: number) => {
    if (!Number.isFinite(d) || d < 0 || d >= TWO_TO_64) throw new CelError("unsigned integer overflow");
    const u = BigInt(Math.trunc(d));
    return toUint(u);
  });
  f(`${k}uint(string): uint`, (s: string) => {
    // strconv.ParseUint(s, 10, 64): no sign
    if (!/^[0-9]+$/.test(s) || BigInt(s) > MAX_UINT64) throw conversionError("string", "uint");
    return toUint(BigInt(s));
  });
  return env;
}

interface AstNode {
  op: string;
  args: unknown;
}
const isNode = (value: unknown): value is AstNode =>
  typeof value === "object" && value !== null && "op" in value && "args" in value;

/**
 * Renames calls to the functions ported above and checks constant regular expressions as kube-apiserver
 * does at load: cel-go's ValidateRegexLiterals compiles the first argument of every `matches` call when
 * it is a literal (the pattern of `s.matches(p)`, but the subject of `matches(s, p)`), and the program's
 * regex optimization (OptOptimize) compiles a literal pattern of `matches(s, p)`.
 */
function rewrite(node: unknown, variable: "claims" | "user", fold = true): void {
  if (Array.isArray(node)) {
    for (const item of node) rewrite(item, variable, fold);
    return;
  }
  if (!isNode(node)) return;
  const args = node.args;
  if ((node.op === "call" || node.op === "rcall") && Array.isArray(args) && typeof args[0] === "string") {
    const name = args[0];
    const callArgs = (node.op === "call" ? args[1] : args[2]) as unknown[];
    // A claim is of type any (map(string, any)), which cel-go's checker refuses as a comprehension's range.
    if (node.op === "rcall" && comprehensions.has(name) && callArgs.length >= 2 && isClaim(args[1]))
      throw new CelError("expression of type 'any' cannot be range of a comprehension (must be list, map, or dynamic)");
    if (name === "matches") {
      const literals = node.op === "call" ? [callArgs[0], callArgs[1]] : [callArgs[0]];
      for (const literal of literals)
        if (isNode(literal) && literal.op === "value" && typeof literal.args === "string") goRegexp(literal.args);
    }
    if (renamed.has(name)) args[0] = `${RENAMED_PREFIX}${name}`;
  }
  if (Array.isArray(args)) for (const arg of args) rewrite(arg, variable, fold);
  else if (isNode(args)) rewrite(args, variable, fold);
  if (fold) foldConversion(node, variable);
}

const comprehensions = new Set(["all", "exists", "exists_one", "map", "filter"]);
/** `claims.x` or `claims['x']`: a value of type any. */
const isClaim = (node: unknown): boolean =>
  isNode(node) &&
  (node.op === "." || node.op === "[]" || node.op === ".?" || node.op === "[?]") &&
  Array.isArray(node.args) &&
  isNode(node.args[0]) &&
  node.args[0].op === "id" &&
  node.args[0].args === "claims";

// cel-go's OptOptimize (interpreter/decorators.go decOptimize, maybeOptimizeConstUnary): a type
// conversion of a constant (a literal, a constant list or map literal, or another folded conversion)
// is evaluated when the program is built, and an error there refuses the expression at load
// ("program instantiation failed"), even where evaluation would never reach it.
const conversions = new Set([
  "bool",
  "bytes",
  "double",
  "duration",
  "dyn",
  "int",
  "string",
  "timestamp",
  "type",
  "uint",
]);
const constant = new WeakSet<object>();
function negativeLiteral(node: AstNode, literal: AstNode): boolean {
  const at = (n: AstNode) => n as unknown as { input: string; start: number };
  return /^-\s*$/.test(at(node).input.slice(at(node).start, at(literal).start));
}
function foldConversion(node: AstNode, variable: "claims" | "user"): void {
  const args = node.args;
  // cel-go's parser reads -1 and -1.5 as literals; the library parses a negation of a literal.
  if (node.op === "value" || (node.op === "-_" && isNode(args) && args.op === "value" && negativeLiteral(node, args))) {
    constant.add(node);
    return;
  }
  if ((node.op === "list" || node.op === "map") && Array.isArray(args)) {
    const items = node.op === "list" ? args : args.flat();
    if (items.every((item) => typeof item === "object" && item !== null && constant.has(item))) constant.add(node);
    return;
  }
  if (node.op !== "call" || !Array.isArray(args) || typeof args[0] !== "string") return;
  const name = args[0].startsWith(RENAMED_PREFIX) ? args[0].slice(RENAMED_PREFIX.length) : args[0];
  const callArgs = args[1] as unknown[];
  if (!conversions.has(name) || callArgs.length !== 1 || !constant.has(callArgs[0] as object)) return;
  const source = node as unknown as { input: string; start: number; end: number };
  const text = source.input.slice(source.start, source.end);
  try {
    // Its own tree, renamed but not folded again: what is inside is constant already.
    const program = environments[variable].parse(text) as unknown as {
      (context: Record<string, unknown>): unknown;
      ast: unknown;
      check(): { valid?: boolean; error?: Error };
    };
    rewrite(program.ast, variable, false);
    const checked = program.check();
    if (checked.valid === false) throw checked.error;
    program({});
  } catch (error) {
    throw new CelError(
      `program instantiation failed: ${(error as Error).message.replace(/^compilation failed: /, "")}`,
    );
  }
  constant.add(node);
}
const unrenamed = (message: string) => message.replaceAll(RENAMED_PREFIX, "");

const environments = {
  claims: registerGoFunctions(environment("claims")),
  user: registerGoFunctions(environment("user")),
};

/**
 * The result types a compiled expression may have, as kube-apiserver checks them at load
 * (k8s.io/apiserver@v0.37.2 pkg/authentication/cel/compile.go, compile: `ast.OutputType() ==
 * returnType || AnyType == returnType`, with each accessor's ReturnTypes in interface.go): claim
 * and extra mappings declare AnyType, so any result loads and its type is checked per token
 * ("username claim expression must return a string"); validation conditions declare BoolType,
 * so only an expression typed bool loads: one typed dyn (`claims.admin`) is refused.
 */
function acceptedTypes(output: CheckedOutput): string[] | undefined {
  switch (output) {
    case "any":
    case "string":
    case "strings":
      return undefined;
    case "bool":
      return ["bool"];
  }
}

export interface CompiledExpression {
  readonly expression: string;
  evaluate(input: Record<string, unknown>): unknown;
}

/** Compiles and type-checks `expression`; throws a CelError naming what is wrong. */
export function compileExpression(
  expression: string,
  variable: "claims" | "user",
  output: CheckedOutput,
): CompiledExpression {
  const env = environments[variable];
  let program: ((context: Record<string, unknown>) => unknown) & {
    check(): { valid?: boolean; type?: string; error?: Error };
  };
  try {
    // Parsed once here; each evaluation then only walks the checked tree.
    program = env.parse(expression) as typeof program;
    rewrite((program as unknown as { ast: unknown }).ast, variable);
  } catch (error) {
    throw new CelError(`compilation failed: ${unrenamed((error as Error).message.split("\n")[0] ?? "")}`);
  }
  const checked = program.check();
  if (checked.valid === false)
    throw new CelError(`compilation failed: ${unrenamed(checked.error?.message.split("\n")[0] ?? "")}`);
  guardIntegerOverflow((program as unknown as { ast: unknown }).ast);
  const type = String(checked.type ?? "dyn");
  const accepted = acceptedTypes(output);
  if (accepted && !accepted.includes(type)) {
    const want = output === "strings" ? "string or []string" : output;
    throw new CelError(`must evaluate to ${want}, got ${type}`);
  }
  return {
    expression,
    evaluate: (input) => {
      try {
        return program(input);
      } catch (error) {
        throw new CelError(unrenamed((error as Error).message.split("\n")[0] ?? ""));
      }
    },
  };
}

// kube-apiserver's claim-name escaping for CEL field selection (pkg/authentication/cel:
// nativeToValueWithUnescape): `foo__dot__bar` selects the key "foo.bar".
const reserved = new Set([
  "as",
  "break",
  "const",
  "continue",
  "else",
  "false",
  "for",
  "function",
  "if",
  "import",
  "in",
  "let",
  "loop",
  "package",
  "namespace",
  "null",
  "return",
  "true",
  "var",
  "void",
  "while",
]);
function escapeKey(key: string): string {
  if (reserved.has(key)) return `__${key}__`;
  return key
    .replaceAll("__", "__underscores__")
    .replaceAll(".", "__dot__")
    .replaceAll("-", "__dash__")
    .replaceAll("/", "__slash__");
}

/** Claims as CEL sees them: every key also reachable by its escaped name. */
export function claimsValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(claimsValue);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  // Claim names are the token's: defineProperty keeps "__proto__" an own key (an assignment would
  // set the prototype), and Object.hasOwn ignores what plain objects inherit ("constructor").
  const set = (key: string, converted: unknown) =>
    Object.defineProperty(out, key, { value: converted, enumerable: true, writable: true, configurable: true });
  for (const [key, inner] of Object.entries(value)) {
    const converted = claimsValue(inner);
    set(key, converted);
    const escaped = escapeKey(key);
    if (escaped !== key && !Object.hasOwn(value, escaped)) set(escaped, converted);
  }
  return out;
}

/** kube-apiserver's convertCELValueToStringList: "", [] and null are "none"; "" items are dropped. */
export function toStringList(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  if (typeof value === "string") return value === "" ? [] : [value];
  if (Array.isArray(value)) {
    return value.filter((item) => {
      if (typeof item !== "string")
        throw new CelError(
          `expression must return a string or a list with string type, got ${typeof item} in the list`,
        );
      return item !== "";
    });
  }
  throw new CelError(`expression must return a string or a list with string type, got ${typeof value}`);
}
