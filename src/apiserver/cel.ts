// CEL for AuthenticationConfiguration claim mappings and validation rules, as kube-apiserver
// compiles them (k8s.io/apiserver pkg/authentication/cel): a `claims` map for claim mappings
// and claim validation rules, a `user` object (username, uid, groups, extra) for user validation
// rules, optional types (`claims.?x.orValue(…)`), the string extension and the `sets` extension.
// Expressions are compiled and type-checked once, at load; evaluation only runs them.
import { Environment } from "@marcbachmann/cel-js";

/** What an expression must produce: a string, a string or list of strings, or a bool. */
export type CelOutput = "string" | "strings" | "bool";

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
      // … and the parts of the strings extension (cel-go ext.Strings) the library lacks.
      .registerFunction("string.replace(string, string): string", (s: string, from: string, to: string) =>
        s.replaceAll(from, to),
      )
  );
}

const environments = { claims: environment("claims"), user: environment("user") };

function acceptedTypes(output: CelOutput): string[] {
  switch (output) {
    case "string":
      return ["string", "dyn"];
    case "strings":
      return ["string", "dyn", "list", "list<string>", "list<dyn>"];
    case "bool":
      return ["bool", "dyn"];
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
  output: CelOutput,
): CompiledExpression {
  const env = environments[variable];
  let program: ((context: Record<string, unknown>) => unknown) & {
    check(): { valid?: boolean; type?: string; error?: Error };
  };
  try {
    // Parsed once here; each evaluation then only walks the checked tree.
    program = env.parse(expression) as typeof program;
  } catch (error) {
    throw new CelError(`compilation failed: ${(error as Error).message.split("\n")[0]}`);
  }
  const checked = program.check();
  if (checked.valid === false) throw new CelError(`compilation failed: ${checked.error?.message.split("\n")[0]}`);
  const type = String(checked.type ?? "dyn");
  if (!acceptedTypes(output).includes(type)) {
    const want = output === "strings" ? "string or []string" : output;
    throw new CelError(`must evaluate to ${want}, got ${type}`);
  }
  return {
    expression,
    evaluate: (input) => {
      try {
        return program(input);
      } catch (error) {
        throw new CelError((error as Error).message.split("\n")[0]);
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
