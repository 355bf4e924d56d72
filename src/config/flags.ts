// Flag parsing in kube-apiserver's dialect (spf13/pflag): `--name=value`, `--name value`,
// `--bool`, `--bool=true|false`, repeatable lists and `key=value` maps, also comma-separated.
// The same table feeds environment variables, the config file, `--help` and the docs, so a
// setting is described once.
import { ConfigError } from "./errors.ts";

export type FlagType = "string" | "bool" | "int" | "duration" | "list" | "map";

export interface FlagSpec {
  readonly name: string;
  readonly type: FlagType;
  readonly help: string;
  /** Shown in --help; undefined means "none". */
  readonly default?: string | boolean | number | readonly string[];
  readonly group: string;
  /** Other names accepted for the same setting (e.g. kube-oidc-proxy's). */
  readonly aliases?: readonly string[];
  /** pflag's one-letter form (`-v 2`, `-v=2`, `-v2`), as kube-oidc-proxy registers it. */
  readonly short?: string;
  /** For a list: each value is one item, never split on commas (pflag's StringArray, NamedCertKeyArray). */
  readonly noSplit?: boolean;
  /**
   * Accepted for kube-oidc-proxy's arguments but without meaning here: why. `serve` logs one line
   * per such flag that is set.
   */
  readonly ignored?: string;
}

export type FlagValue = string | boolean | number | string[] | Record<string, string>;
export type FlagValues = Readonly<Record<string, FlagValue | undefined>>;

/** The environment variable that sets a flag: KOG_ and the name in upper snake case. */
export const envName = (flag: string) => `KOG_${flag.toUpperCase().replaceAll("-", "_")}`;

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration such as `10s`, `1m30s`, `500ms` into milliseconds. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let total = 0;
  let index = 0;
  if (text === "0") return 0;
  while (index < text.length) {
    re.lastIndex = index;
    const match = re.exec(text);
    if (!match) throw new Error(`invalid duration ${JSON.stringify(text)} (use e.g. 10s, 1m30s, 500ms)`);
    total += Number(match[1]) * (durationUnits[match[2] ?? "s"] ?? 1000);
    index = re.lastIndex;
  }
  if (text.length === 0) throw new Error("empty duration");
  return total;
}

function parseBool(flag: string, text: string): boolean {
  // strconv.ParseBool, as pflag uses.
  if (["1", "t", "T", "true", "TRUE", "True"].includes(text)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(text)) return false;
  throw new ConfigError("INVALID_FLAG_VALUE", `--${flag}: invalid boolean ${JSON.stringify(text)}`);
}

/** Converts one textual value for `spec`, merging into `previous` for lists and maps. */
export function convert(spec: FlagSpec, text: string, previous: FlagValue | undefined, source: string): FlagValue {
  switch (spec.type) {
    case "string":
      return text;
    case "bool":
      return parseBool(spec.name, text);
    case "int": {
      if (!/^-?\d+$/.test(text)) {
        throw new ConfigError(
          "INVALID_FLAG_VALUE",
          `${source}: --${spec.name}: not an integer: ${JSON.stringify(text)}`,
        );
      }
      return Number(text);
    }
    case "duration":
      try {
        return parseDuration(text);
      } catch (error) {
        throw new ConfigError("INVALID_FLAG_VALUE", `${source}: --${spec.name}: ${(error as Error).message}`);
      }
    case "list":
      if (spec.noSplit) return [...((previous as string[] | undefined) ?? []), text];
      return [...((previous as string[] | undefined) ?? []), ...text.split(",").filter((s) => s !== "")];
    case "map": {
      const map = { ...((previous as Record<string, string> | undefined) ?? {}) };
      for (const pair of text.split(",")) {
        if (pair === "") continue;
        const eq = pair.indexOf("=");
        if (eq <= 0) {
          throw new ConfigError(
            "INVALID_FLAG_VALUE",
            `${source}: --${spec.name}: expected key=value, got ${JSON.stringify(pair)}`,
          );
        }
        map[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      return map;
    }
  }
}

function lookup(specs: readonly FlagSpec[], name: string): FlagSpec | undefined {
  return specs.find((s) => s.name === name || s.aliases?.includes(name));
}

/** pflag's shorthand forms: `-P 8080`, `-P=8080`, `-P8080`, `-v` alone for a bool. */
function parseShort(
  specs: readonly FlagSpec[],
  arg: string,
  next: string | undefined,
): { spec: FlagSpec; text: string; consumed: boolean } {
  const letter = arg.slice(1, 2);
  const spec = specs.find((s) => s.short === letter);
  if (!spec) throw new ConfigError("UNKNOWN_FLAG", `unknown shorthand flag: ${JSON.stringify(letter)} in ${arg}`);
  const rest = arg.slice(2);
  if (rest.startsWith("=")) return { spec, text: rest.slice(1), consumed: false };
  if (rest !== "") return { spec, text: rest, consumed: false };
  if (spec.type === "bool") return { spec, text: "true", consumed: false };
  if (next === undefined) throw new ConfigError("MISSING_FLAG_VALUE", `flag needs an argument: -${letter}`);
  return { spec, text: next, consumed: true };
}

/**
 * The optimal string alignment distance: Levenshtein's insertions, deletions and substitutions,
 * plus a transposition of two neighbours as one edit (`ulr` → `url`), the commonest typo.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    const row = d[i] as number[];
    const above = d[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((above[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (above[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, ((d[i - 2] as number[])[j - 2] ?? 0) + 1);
      row[j] = best;
    }
  }
  return (d[a.length] as number[])[b.length] ?? 0;
}

/** `oidc_issuer_url`, `oidcIssuerURL`, `OIDC-ISSUER-URL` → `oidc-issuer-url`: how a setting is often mistyped. */
const kebab = (name: string) =>
  name
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replaceAll("_", "-")
    .toLowerCase();

/**
 * The flag name (or alias) an unknown `name` was probably meant to be, as cobra suggests
 * commands and kubectl flags: the same name in another case or separator, else the nearest by
 * edit distance when it is within a quarter of the name's length (at least 2), else a name that
 * contains it or is contained in it (`--oidc-issuer` → `--oidc-issuer-url`).
 */
export function closestFlag(specs: readonly FlagSpec[], name: string): string | undefined {
  const candidates = specs.flatMap((s) => [s.name, ...(s.aliases ?? [])]);
  const wanted = kebab(name);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = editDistance(wanted, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best !== undefined && bestDistance <= Math.max(2, Math.floor(wanted.length / 4))) return best;
  if (wanted.length < 3) return undefined;
  return candidates.find((c) => c.includes(wanted) || wanted.includes(c));
}

function suggest(specs: readonly FlagSpec[], name: string, prefix = "--"): string {
  const close = closestFlag(specs, name);
  return close ? ` (did you mean ${prefix}${close}?)` : "";
}

export interface ParsedArgs {
  readonly values: Record<string, FlagValue>;
  readonly positionals: string[];
  readonly help: boolean;
}

/** Parses command-line arguments against `specs`. */
export function parseFlags(specs: readonly FlagSpec[], argv: readonly string[]): ParsedArgs {
  const values: Record<string, FlagValue> = {};
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "-h" || arg === "--help") {
      help = true;
      continue;
    }
    if (arg.startsWith("-") && !arg.startsWith("--") && arg.length > 1) {
      const short = parseShort(specs, arg, argv[i + 1]);
      if (short.consumed) i++;
      values[short.spec.name] = convert(short.spec, short.text, values[short.spec.name], "command line");
      continue;
    }
    if (!arg.startsWith("--")) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = lookup(specs, name);
    if (!spec) throw new ConfigError("UNKNOWN_FLAG", `unknown flag: --${name}${suggest(specs, name)}`);
    let text: string;
    if (eq !== -1) text = arg.slice(eq + 1);
    else if (spec.type === "bool") text = "true";
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new ConfigError("MISSING_FLAG_VALUE", `flag needs an argument: --${name}`);
      text = next;
      i++;
    }
    values[spec.name] = convert(spec, text, values[spec.name], "command line");
  }
  return { values, positionals, help };
}

/** Reads every flag's environment variable that is set. */
export function valuesFromEnv(specs: readonly FlagSpec[], env: NodeJS.ProcessEnv): Record<string, FlagValue> {
  const values: Record<string, FlagValue> = {};
  for (const spec of specs) {
    const text = env[envName(spec.name)];
    if (text !== undefined) values[spec.name] = convert(spec, text, undefined, `environment ${envName(spec.name)}`);
  }
  return values;
}

/**
 * `KOG_*` variables the project reads outside any command's flags: the test bed's cache and the
 * test suites' seeds and budgets (testbed/paths.ts, test/helpers/property-seed.ts). They are no
 * command's settings, but a shell that runs the tests may export them.
 */
const otherKogVariables: readonly string[] = [
  "KOG_CACHE_DIR",
  "KOG_PROPERTY_SEED",
  "KOG_PROPERTY_RUNS",
  "KOG_DIFFERENTIAL_RUNS",
];

export interface UnknownVariable {
  readonly variable: string;
  /** The variable of the nearest flag, when one is near. */
  readonly closest?: string;
  /** One line for the log: the variable, that it is ignored, and the closest variable. */
  readonly message: string;
}

/**
 * The `KOG_*` environment variables that set none of `specs`' flags: a misspelt one would
 * otherwise be ignored without a word while its setting keeps its default. One entry each, in
 * name order, naming the closest variable (as unknown flags and file keys get "did you mean").
 */
export function unknownEnvironment(specs: readonly FlagSpec[], env: NodeJS.ProcessEnv): UnknownVariable[] {
  const known = new Set([...specs.map((s) => envName(s.name)), ...otherKogVariables]);
  return Object.keys(env)
    .filter((variable) => variable.startsWith("KOG_") && !known.has(variable) && env[variable] !== undefined)
    .sort()
    .map((variable) => {
      const flag = closestFlag(specs, variable.slice("KOG_".length));
      const closest = flag === undefined ? undefined : envName((lookup(specs, flag) as FlagSpec).name);
      return {
        variable,
        ...(closest ? { closest } : {}),
        message: `${variable} sets no flag and is ignored${closest ? ` (did you mean ${closest}?)` : ""}`,
      };
    });
}

/** Converts a config file's object (keys are flag names) into flag values. */
export function valuesFromFile(specs: readonly FlagSpec[], object: unknown, file: string): Record<string, FlagValue> {
  if (object === null || object === undefined) return {};
  if (typeof object !== "object" || Array.isArray(object)) {
    throw new ConfigError("INVALID_CONFIG_FILE", `${file}: expected a mapping of flag names to values`);
  }
  const values: Record<string, FlagValue> = {};
  for (const [key, raw] of Object.entries(object)) {
    const spec = lookup(specs, key);
    if (!spec)
      throw new ConfigError(
        "UNKNOWN_FLAG",
        `${file}: unknown setting ${JSON.stringify(key)}${suggest(specs, key, "")}`,
      );
    const texts = Array.isArray(raw)
      ? raw.map(String)
      : typeof raw === "object" && raw !== null
        ? Object.entries(raw).map(([k, v]) => `${k}=${String(v)}`)
        : [String(raw)];
    let value: FlagValue | undefined;
    for (const text of texts) value = convert(spec, text, value, file);
    if (value !== undefined) values[spec.name] = value;
  }
  return values;
}

function formatDefault(spec: FlagSpec): string {
  const value = spec.default;
  if (value === undefined || value === "" || (Array.isArray(value) && value.length === 0)) return "";
  return ` (default ${Array.isArray(value) ? value.join(",") : String(value)})`;
}

/** The flag section of a command's --help, grouped, with defaults and environment variables. */
export function formatFlagHelp(specs: readonly FlagSpec[]): string {
  const groups = [...new Set(specs.map((s) => s.group))];
  return groups
    .map((group) => {
      const lines = specs
        .filter((s) => s.group === group)
        .map((s) => {
          const placeholder = s.type === "bool" ? "" : s.type === "map" ? " key=value" : ` ${s.type}`;
          const aliases = s.aliases?.length ? ` (also --${s.aliases.join(", --")})` : "";
          const short = s.short ? ` (-${s.short})` : "";
          return `  --${s.name}${short}${placeholder}${aliases}\n      ${s.help}${formatDefault(s)} [${envName(s.name)}]`;
        });
      return `${group}:\n${lines.join("\n")}`;
    })
    .join("\n\n");
}
