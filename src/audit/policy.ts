// The audit policy: --audit-policy-file read, decoded and validated as kube-apiserver does it,
// and the evaluator that picks a request's audit level, a port of k8s.io/apiserver@v0.37.2
// pkg/audit/policy/reader.go (LoadPolicyFromBytes), pkg/apis/audit/validation/validation.go
// (ValidatePolicy) and pkg/audit/policy/checker.go (NewPolicyRuleEvaluator, ruleMatches).
//
// Decoding is the part people trip on, so it follows the Go codec closely rather than a schema
// of our own (test/audit/policy-differential.test.ts holds it against the Go code):
// - text whose first non-space character is "{" is JSON (utilyaml.IsJSONBuffer), anything else is
//   YAML as go-yaml v2 reads it (YAML 1.1: yes/no/on/off/y/n are booleans; the first document
//   only; duplicate keys: the last wins);
// - apiVersion and kind are found case-insensitively (encoding/json behind SimpleMetaFactory);
//   kind may be left out (the decoder takes it from the Policy it decodes into), apiVersion may
//   not (the object would be the internal version, which reader.go refuses);
// - fields are matched case-sensitively; unknown and duplicate fields make the strict decoder
//   refuse, and reader.go then falls back to lenient decoding with a warning: such a policy loads;
// - a value of the wrong type anywhere (a number for a level, a string for a list) refuses the
//   file; null leaves a field at its zero value (a null list item is "").
import { isUtf8 } from "node:buffer";
import { readFileSync } from "node:fs";
import {
  type Document,
  isAlias,
  isCollection,
  isMap,
  isScalar,
  isSeq,
  parseAllDocuments,
  type Tags,
  visit,
} from "yaml";
import { ConfigError } from "../config/errors.ts";
import { goJsonString } from "./encode.ts";
import {
  type GroupResources,
  type Level,
  levels,
  type Policy,
  type PolicyAttributes,
  type PolicyRule,
  type PolicyRuleEvaluator,
  type RequestAuditConfig,
  type Stage,
  stages,
} from "./types.ts";

/** A decoded JSON value with its object keys in order and duplicates kept, as a decoder sees it. */
type Node =
  | { readonly t: "object"; readonly entries: readonly (readonly [string, Node])[] }
  | { readonly t: "array"; readonly items: readonly Node[] }
  | { readonly t: "string"; readonly v: string }
  | { readonly t: "number"; readonly raw: string }
  | { readonly t: "bool"; readonly v: boolean }
  | { readonly t: "null" };

/** A refusal carrying the text kube-apiserver's LoadPolicyFromBytes error would have. */
class PolicyDecodeError extends Error {}

export interface LoadPolicyOptions {
  /** reader.go's klog warning when the strict decoder refused and lenient decoding was used. */
  readonly onWarning?: (message: string) => void;
}

/** --audit-policy-file: the file read and loaded; errors name the file. */
export function loadPolicyFile(path: string, options: LoadPolicyOptions = {}): Policy {
  if (path === "") throw new ConfigError("AUDIT_POLICY", "loading audit policy file: file path not specified");
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new ConfigError(
      "AUDIT_POLICY",
      `loading audit policy file: failed to read file path ${goQuote(path)}: ${(error as Error).message}; ` +
        "--audit-policy-file must name a readable audit.k8s.io/v1 Policy file",
      { cause: error },
    );
  }
  return loadPolicy(bytes, path, options);
}

/**
 * A policy from its text (YAML or JSON), or the file's bytes. `source` names it in errors (the
 * file path). The error
 * message is kube-apiserver's ("loading audit policy file: <reason>: from file <source>"), then
 * what the flag takes.
 */
export function loadPolicy(text: string | Uint8Array, source: string, options: LoadPolicyOptions = {}): Policy {
  try {
    return loadPolicyFromBytes(typeof text === "string" ? text : decodePolicyBytes(text), options.onWarning);
  } catch (error) {
    if (!(error instanceof PolicyDecodeError)) throw error;
    throw new ConfigError(
      "AUDIT_POLICY",
      `loading audit policy file: ${error.message}: from file ${source} ` +
        "(--audit-policy-file takes an audit.k8s.io/v1 Policy with at least one rule; see kubernetes.io/docs/tasks/debug/debug-cluster/audit/)",
      { cause: error },
    );
  }
}

/**
 * The reason kube-apiserver's LoadPolicyFromBytes gives for refusing `text`, or undefined when it
 * loads: the message without the file name, for comparing with the Go code.
 */
export function policyRefusal(text: string): string | undefined {
  try {
    loadPolicyFromBytes(text, undefined);
    return undefined;
  } catch (error) {
    if (error instanceof PolicyDecodeError) return error.message;
    throw error;
  }
}

/**
 * A policy file's bytes as the Go reader sees them: UTF-8, except that go-yaml also reads UTF-16
 * with a byte order mark (kept, so the text stays YAML as it is for utilyaml.IsJSONBuffer), and
 * refuses bytes that are no UTF-8; encoding/json reads them as U+FFFD (in a string; elsewhere
 * they are a syntax error all the same).
 */
function decodePolicyBytes(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder("utf-16le", { ignoreBOM: true }).decode(bytes);
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder("utf-16be", { ignoreBOM: true }).decode(bytes);
  const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes);
  if (!isUtf8(bytes) && !goJsonPrefix.test(text)) {
    throw new PolicyDecodeError(
      "failed decoding: yaml: invalid UTF-8: the file must be UTF-8 (or UTF-16 with a byte order mark)",
    );
  }
  return text;
}

/**
 * utilyaml.IsJSONBuffer: "{" after Go's unicode.IsSpace characters, which are not JavaScript's \s
 * (a byte order mark is no space there, U+0085 is): a file starting with a BOM is YAML.
 */
const goJsonPrefix = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*\{/;

// k8s.io/apiserver@v0.37.2 pkg/audit/policy/reader.go LoadPolicyFromBytes.
function loadPolicyFromBytes(text: string, onWarning: ((message: string) => void) | undefined): Policy {
  const { node, duplicateKeys } = goJsonPrefix.test(text) ? parseJson(text) : parseYaml(text);
  const { apiVersion, kind } = interpretTypeMeta(node);
  checkGroupVersionKind(apiVersion, kind, text);
  const decoder = new Decoder();
  const decoded = decoder.value(node, policySchema, undefined, "", "") as GoStruct | undefined;
  if (decoder.failure !== undefined) throw new PolicyDecodeError(`failed decoding: ${decoder.failure}`);
  const strict = [...duplicateKeys.map((k) => `yaml: unmarshal errors: ${k}`), ...decoder.strictErrors];
  if (strict.length > 0) {
    onWarning?.(
      `Audit policy contains errors, falling back to lenient decoding: strict decoding error: ${strict.join(", ")}`,
    );
  }
  const policy = toPolicy(decoded ?? {});
  const errors = validatePolicy(policy);
  if (errors.length > 0) throw new PolicyDecodeError(aggregate(errors));
  if (policy.rules.length === 0) throw new PolicyDecodeError("loaded illegal policy with 0 rules");
  return policy as Policy;
}

// ---------------------------------------------------------------------------------------------
// Text → Node

/** encoding/json's grammar (whitespace is space, tab, CR, LF only; nothing after the value). */
function parseJson(text: string): { node: Node; duplicateKeys: string[] } {
  let i = 0;
  const fail = (what: string): never => {
    throw new PolicyDecodeError(`failed decoding: couldn't get version/kind; json parse error: ${what}`);
  };
  const describe = (): string =>
    i >= text.length ? "unexpected end of JSON input" : `invalid character ${goCharQuote(text[i] as string)}`;
  const space = () => {
    while (i < text.length && " \t\r\n".includes(text[i] as string)) i++;
  };
  const string = (): string => {
    i++; // opening quote
    let out = "";
    for (;;) {
      const c = text[i];
      if (c === undefined) return fail("unexpected end of JSON input");
      if (c === '"') {
        i++;
        // encoding/json turns an unpaired surrogate escape into U+FFFD.
        return out.toWellFormed();
      }
      if (c < " ") return fail(`${describe()} in string literal`);
      if (c === "\\") {
        const e = text[i + 1];
        const simple: Record<string, string> = {
          '"': '"',
          "\\": "\\",
          "/": "/",
          b: "\b",
          f: "\f",
          n: "\n",
          r: "\r",
          t: "\t",
        };
        if (e !== undefined && simple[e] !== undefined) {
          out += simple[e];
          i += 2;
        } else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(Number.parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else {
          i++;
          return fail(`${describe()} in string escape code`);
        }
      } else {
        out += c;
        i++;
      }
    }
  };
  const value = (): Node => {
    space();
    const c = text[i];
    if (c === "{") {
      i++;
      const entries: [string, Node][] = [];
      space();
      if (text[i] === "}") {
        i++;
        return { t: "object", entries };
      }
      for (;;) {
        space();
        if (text[i] !== '"') return fail(`${describe()} looking for beginning of object key string`);
        const key = string();
        space();
        if (text[i] !== ":") return fail(`${describe()} after object key`);
        i++;
        entries.push([key, value()]);
        space();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return { t: "object", entries };
        }
        return fail(`${describe()} after object key:value pair`);
      }
    }
    if (c === "[") {
      i++;
      const items: Node[] = [];
      space();
      if (text[i] === "]") {
        i++;
        return { t: "array", items };
      }
      for (;;) {
        items.push(value());
        space();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return { t: "array", items };
        }
        return fail(`${describe()} after array element`);
      }
    }
    if (c === '"') return { t: "string", v: string() };
    const number = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (number) {
      i += number[0].length;
      return { t: "number", raw: number[0] };
    }
    for (const [word, node] of [
      ["true", { t: "bool", v: true }],
      ["false", { t: "bool", v: false }],
      ["null", { t: "null" }],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return node;
      }
    }
    return fail(`${describe()} looking for beginning of value`);
  };
  const node = value();
  space();
  if (i < text.length) fail(`${describe()} after top-level value`);
  // encoding/json reports duplicate keys per object through the strict decoder (see Decoder).
  return { node, duplicateKeys: [] };
}

// go-yaml v2 resolves plain scalars as YAML 1.1 does, except that it has no sexagesimal numbers
// and keeps timestamps as strings when converting to JSON (sigs.k8s.io/yaml YAMLToJSON); and it
// reads 0o17 as an octal number (strconv.ParseInt with base 0).
const goYamlTags = (tags: Tags): Tags => [
  {
    tag: "tag:yaml.org,2002:int",
    default: true,
    test: /^[-+]?0o[0-7_]+$/,
    resolve: (s: string) =>
      (s.startsWith("-") ? -1 : 1) * Number.parseInt(s.replace(/^[-+]?0o/, "").replace(/_/g, ""), 8),
  },
  ...tags.filter((t) => {
    const tag = typeof t === "string" ? t : t.tag;
    const format = typeof t === "string" ? undefined : t.format;
    return tag !== "tag:yaml.org,2002:timestamp" && format !== "TIME";
  }),
  // Explicit !!int and !!float (the yaml package leaves "!!float 1" a string): go-yaml resolves
  // the scalar as a number and refuses what is none of the kind asked for.
  { tag: "tag:yaml.org,2002:int", resolve: (s: string) => explicitNumber(s, "int") },
  { tag: "tag:yaml.org,2002:float", resolve: (s: string) => explicitNumber(s, "float") },
];

/** go-yaml v2 resolve() for a scalar tagged !!int or !!float. */
function explicitNumber(text: string, kind: "int" | "float"): number {
  const plain = text.replace(/_/g, "");
  const sign = plain.startsWith("-") ? -1 : 1;
  const digits = plain.replace(/^[-+]/, "");
  const radix = /^0x[0-9a-f]+$/i.test(digits)
    ? 16
    : /^0o[0-7]+$/.test(digits)
      ? 8
      : /^0b[01]+$/.test(digits)
        ? 2
        : /^0[0-7]+$/.test(digits)
          ? 8
          : /^(?:0|[1-9][0-9]*)$/.test(digits)
            ? 10
            : undefined;
  if (radix !== undefined) return sign * Number.parseInt(digits.replace(/^0[xob]?/i, "") || "0", radix);
  if (kind === "float") {
    if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/.test(plain)) return Number.parseFloat(plain);
    if (/^[-+]?\.(?:inf|Inf|INF)$/.test(plain)) return sign * Number.POSITIVE_INFINITY;
    if (/^\.(?:nan|NaN|NAN)$/.test(plain)) return Number.NaN;
  }
  throw new Error(`cannot decode !!str \`${text}\` as a !!${kind}`);
}

function parseYaml(text: string): { node: Node; duplicateKeys: string[] } {
  const yaml = yaml11LineBreaks(text);
  const parse = (uniqueKeys: boolean) =>
    parseAllDocuments(yaml, { version: "1.1", uniqueKeys, customTags: goYamlTags, prettyErrors: false })[0];
  let doc = parse(true);
  const duplicateKeys: string[] = [];
  if (doc?.errors.some((e) => e.code === "DUPLICATE_KEY")) {
    for (const e of doc.errors) {
      if (e.code === "DUPLICATE_KEY") duplicateKeys.push(e.message.split("\n")[0] ?? e.message);
    }
    doc = parse(false);
  }
  if (doc === undefined) return { node: { t: "null" }, duplicateKeys };
  // go-yaml v2 reads YAML 1.1 documents only.
  if (doc.directives?.yaml.explicit && doc.directives.yaml.version !== "1.1") {
    throw new PolicyDecodeError("failed decoding: yaml: found incompatible YAML document");
  }
  duplicateKeys.push(...goYamlQuirks(doc, yaml));
  // A flow collection over several lines (or over 1024 characters) followed by "key: value" is,
  // to the yaml package, the key of a block mapping it cannot have; to go-yaml, which cannot take
  // it for a key either, the whole document, the rest unread.
  const first = isMap(doc.contents) && !doc.contents.flow ? doc.contents.items[0]?.key : undefined;
  const flowKey = isCollection(first) && first.flow && doc.errors.some((e) => notAKey.has(e.code)) ? first : undefined;
  const root = (flowKey ?? doc.contents) as RootNode | null;
  const afterKey = flowKey?.range ? nextTokenError(yaml, flowKey.range[1]) : undefined;
  if (afterKey) throw new PolicyDecodeError(`failed decoding: yaml: ${afterKey}`);
  const error = doc.errors.find((e) => !(flowKey && notAKey.has(e.code)) && !afterFlowRoot(root, yaml, e.pos[0]));
  if (error) throw new PolicyDecodeError(`failed decoding: yaml: ${error.message.split("\n")[0]}`);
  let value: unknown;
  try {
    // Maps as Maps, so that keys that are no strings can be converted (or refused) as Go does.
    value = flowKey ? flowKey.toJS(doc, { mapAsMap: true }) : doc.toJS({ mapAsMap: true });
  } catch (cause) {
    // An alias bomb: go-yaml v2 refuses those too ("document contains excessive aliasing").
    throw new PolicyDecodeError(`failed decoding: yaml: ${(cause as Error).message.split("\n")[0]}`);
  }
  const node = fromJs(value);
  const unsupported = firstNonFinite(node);
  if (unsupported) throw new PolicyDecodeError(`failed decoding: json: unsupported value: ${unsupported}`);
  return { node, duplicateKeys };
}

/**
 * What go-yaml v2 does that the yaml package does not, found on the parsed document: it refuses
 * the escape "\/" in a double-quoted scalar (YAML 1.2's), and its strict mode counts a key that
 * a mapping both sets and merges in (<<), or merges in twice, as set twice (returned).
 */
function goYamlQuirks(doc: Document.Parsed, text: string): string[] {
  const duplicates: string[] = [];
  const keysOf = (node: unknown): string[] => {
    const resolved = isAlias(node) ? node.resolve(doc) : node;
    if (isSeq(resolved)) return resolved.items.flatMap(keysOf);
    if (!isMap(resolved)) return [];
    const js = resolved.toJS(doc, { mapAsMap: true }) as Map<unknown, unknown>;
    return [...js.keys()].map(String);
  };
  visit(doc, {
    Scalar(_, node) {
      if (
        node.type === "QUOTE_DOUBLE" &&
        node.range &&
        /(?<!\\)(?:\\\\)*\\\//.test(text.slice(node.range[0], node.range[1]))
      ) {
        throw new PolicyDecodeError("failed decoding: yaml: found unknown escape character");
      }
    },
    Map(_, map) {
      const merges = map.items.filter((pair) => isScalar(pair.key) && typeof pair.key.value === "symbol");
      if (merges.length === 0) return;
      const seen = new Set<string>();
      const explicit = map.items
        .filter((pair) => !merges.includes(pair))
        .map((pair) => String(isScalar(pair.key) ? pair.key.value : pair.key));
      for (const key of [...explicit, ...merges.flatMap((pair) => keysOf(pair.value))]) {
        if (seen.has(key)) duplicates.push(`key ${goQuote(key)} already set in map`);
        seen.add(key);
      }
    },
  });
  return duplicates;
}

/**
 * go-yaml v2 breaks lines at NEL, LS and PS too, as YAML 1.1 says; the yaml package at \r and \n
 * alone (YAML 1.2). NEL reads as \n everywhere (in a quoted scalar it then folds to a space, as
 * go-yaml folds it); LS and PS only outside quoted scalars, where go-yaml keeps them as they are.
 */
function yaml11LineBreaks(text: string): string {
  let out = "";
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quote === undefined) {
      if ((ch === '"' || ch === "'") && (i === 0 || /[\s[{,:-]/.test(text[i - 1] as string))) quote = ch;
      out += ch === "\u0085" || ch === "\u2028" || ch === "\u2029" ? "\n" : ch;
      continue;
    }
    if (quote === '"' && ch === "\\") {
      out += ch + (text[i + 1] ?? "");
      i++;
      continue;
    }
    if (ch === quote) {
      if (quote === "'" && text[i + 1] === "'") {
        out += "''";
        i++;
        continue;
      }
      quote = undefined;
    }
    out += ch === "\u0085" ? "\n" : ch;
  }
  return out;
}

/**
 * go-yaml v2 decodes the first document's root node and reads just one token past it: after a
 * flow collection ({...} or [...]) anything goes, unless that token cannot be scanned (an
 * unterminated quote, a reserved indicator). A block collection goes on until a token that is no
 * part of it, which is an error there as here.
 */
function afterFlowRoot(root: RootNode | null, text: string, position: number): boolean {
  if (!root?.flow || !root.range || position < root.range[1]) return false;
  return nextTokenError(text, root.range[1]) === undefined;
}

/** Why go-yaml cannot scan the token after a root node ending at `end`, if it cannot. */
function nextTokenError(text: string, end: number): string | undefined {
  const rest = text.slice(end);
  // A ':' on the same line is a value without a key (a key must be on one line).
  if (/^[ \t]*:(?:\s|$)/.test(rest)) return "mapping values are not allowed in this context";
  const next = rest.replace(/^(?:\s|#[^\n]*)*/, "");
  if (/^[@`]/.test(next)) return "found character that cannot start any token";
  if (next.startsWith('"') && !/^"(?:[^"\\]|\\.)*"/s.test(next)) return "found unexpected end of stream";
  if (next.startsWith("'") && !/^'(?:[^']|'')*'/s.test(next)) return "found unexpected end of stream";
  return undefined;
}

const notAKey = new Set(["MULTILINE_IMPLICIT_KEY", "KEY_OVER_1024_CHARS"]);

type RootNode = { readonly flow?: boolean; readonly range?: readonly [number, number, number] | null };

/**
 * sigs.k8s.io/yaml@v1.6.0 convertToJSONableObject: string, number and boolean keys become strings;
 * a null key is unsupported, and go-yaml itself refuses a collection as a key.
 */
function mapKey(key: unknown, value: unknown): string {
  if (typeof key === "string") return key;
  if (typeof key === "number" || typeof key === "bigint" || typeof key === "boolean") return String(key);
  if (key === null || key === undefined) {
    throw new PolicyDecodeError(
      `failed decoding: unsupported map key of type: %!s(<nil>), key: <nil>, value: ${goSyntax(value)}`,
    );
  }
  throw new PolicyDecodeError(`failed decoding: yaml: invalid map key: ${goSyntax(key)}`);
}

/** Go's %#v of a value go-yaml decoded (approximately, for collections). */
function goSyntax(value: unknown): string {
  if (value === null || value === undefined) return "interface {}(nil)";
  if (typeof value === "string") return goQuote(value);
  if (Array.isArray(value)) return `[]interface {}{${value.map(goSyntax).join(", ")}}`;
  if (value instanceof Map) {
    return `map[interface {}]interface {}{${[...value].map(([k, v]) => `${goSyntax(k)}:${goSyntax(v)}`).join(", ")}}`;
  }
  return String(value);
}

/** The first ±Inf or NaN in json.Marshal's order (keys sorted, as they are here). */
function firstNonFinite(node: Node): string | undefined {
  if (node.t === "number") return /^[+-]Inf$|^NaN$/.test(node.raw) ? node.raw : undefined;
  const children = node.t === "array" ? node.items : node.t === "object" ? node.entries.map(([, v]) => v) : [];
  for (const child of children) {
    const found = firstNonFinite(child);
    if (found) return found;
  }
  return undefined;
}

/** A value as sigs.k8s.io/yaml hands it to the JSON decoder: object keys sorted (a Go map). */
function fromJs(value: unknown): Node {
  if (value === null || value === undefined) return { t: "null" };
  if (typeof value === "boolean") return { t: "bool", v: value };
  if (typeof value === "number" || typeof value === "bigint") {
    const n = Number(value);
    // Not a JSON number: json.Marshal refuses it, once every key has been converted (below).
    if (!Number.isFinite(n)) return { t: "number", raw: Number.isNaN(n) ? "NaN" : n > 0 ? "+Inf" : "-Inf" };
    return { t: "number", raw: String(n) };
  }
  if (typeof value === "string") return { t: "string", v: value };
  if (Array.isArray(value)) return { t: "array", items: value.map(fromJs) };
  if (value instanceof Uint8Array) return { t: "string", v: Buffer.from(value).toString("base64") };
  if (value instanceof Map) {
    const entries = new Map<string, unknown>();
    for (const [k, v] of value) entries.set(mapKey(k, v), v);
    const keys = [...entries.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    return { t: "object", entries: keys.map((k) => [k, fromJs(entries.get(k))] as const) };
  }
  if (value instanceof Set) return fromJs(Object.fromEntries([...value].map((k) => [String(k), null])));
  if (typeof value === "object") {
    const keys = Object.keys(value).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    return { t: "object", entries: keys.map((k) => [k, fromJs((value as Record<string, unknown>)[k])] as const) };
  }
  return { t: "string", v: String(value) };
}

// ---------------------------------------------------------------------------------------------
// apiVersion and kind

/** encoding/json's case folding of field names (bytes.EqualFold plus its two special letters). */
const foldKey = (key: string) =>
  key
    .replace(/\u212a/g, "k")
    .replace(/\u017f/g, "s")
    .toLowerCase();

/** How encoding/json names a JSON value in its type errors: the Node tags are its words. */
const jsonKind = (node: Node) => node.t;

/** k8s.io/apimachinery runtime/serializer/json SimpleMetaFactory.Interpret. */
function interpretTypeMeta(node: Node): { apiVersion: string; kind: string } {
  const fail = (what: string): never => {
    throw new PolicyDecodeError(`failed decoding: couldn't get version/kind; json parse error: ${what}`);
  };
  let apiVersion = "";
  let kind = "";
  if (node.t === "null") return { apiVersion, kind };
  if (node.t !== "object") {
    return fail(
      `json: cannot unmarshal ${jsonKind(node)} into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }`,
    );
  }
  for (const [key, value] of node.entries) {
    const folded = foldKey(key);
    if (folded !== "apiversion" && folded !== "kind") continue;
    const name = folded === "kind" ? "kind" : "apiVersion";
    if (value.t === "null") continue;
    if (value.t !== "string")
      fail(`json: cannot unmarshal ${jsonKind(value)} into Go struct field .${name} of type string`);
    else if (name === "kind") kind = value.v;
    else apiVersion = value.v;
  }
  return { apiVersion, kind };
}

// The kinds the audit scheme (k8s.io/apiserver@v0.37.2 pkg/audit/scheme.go) knows besides
// Policy: decoding them works, converting them to a Policy does not.
const auditKinds = new Set(["Event", "EventList", "PolicyList"]);
/**
 * metav1.AddToGroupVersion's kinds, registered for "v1" and for audit.k8s.io/v1 (whose
 * AddToScheme calls it too), and its unversioned kinds, known in every version.
 */
const metaV1Kinds = new Set([
  "WatchEvent",
  "ListOptions",
  "GetOptions",
  "DeleteOptions",
  "CreateOptions",
  "UpdateOptions",
  "PatchOptions",
]);
const unversionedKinds = new Set(["Status", "APIVersions", "APIGroupList", "APIGroup", "APIResourceList"]);

/**
 * The universal decoder's outcome for each apiVersion/kind (schema.ParseGroupVersion, the
 * defaults it takes from the Policy it decodes into, the scheme's kinds), then reader.go's own
 * check that the version is audit.k8s.io/v1: without apiVersion the object decodes as the
 * internal version, which reader.go refuses.
 */
function checkGroupVersionKind(apiVersion: string, kind: string, text: string): void {
  let group = "";
  let version = "";
  if (apiVersion !== "" && apiVersion !== "/") {
    const parts = apiVersion.split("/");
    if (parts.length > 2) throw new PolicyDecodeError(`failed decoding: unexpected GroupVersion string: ${apiVersion}`);
    [group, version] = parts.length === 1 ? ["", apiVersion] : (parts as [string, string]);
  }
  const k = kind === "" ? "Policy" : kind;
  if (version === "" && (group === "" || group === "audit.k8s.io")) {
    group = "audit.k8s.io";
    version = "__internal";
  }
  if (version === "") throw new PolicyDecodeError(`failed decoding: Object 'apiVersion' is missing in '${text}'`);
  const unknownConversion = (from: string) =>
    new PolicyDecodeError(`failed decoding: converting (${from}.${k}) to (audit.Policy): unknown conversion`);
  if (unversionedKinds.has(k)) throw unknownConversion("v1");
  if (group === "audit.k8s.io" && version === "v1") {
    if (k === "Policy") return;
    if (auditKinds.has(k) || metaV1Kinds.has(k)) throw unknownConversion("v1");
  }
  if (group === "audit.k8s.io" && version === "__internal") {
    if (k === "Policy")
      throw new PolicyDecodeError(`unknown group version field audit.k8s.io/__internal, Kind=Policy in policy`);
    if (auditKinds.has(k)) throw unknownConversion("audit");
    throw new PolicyDecodeError(
      `failed decoding: no kind ${goQuote(k)} is registered for the internal version of group "audit.k8s.io" in scheme "pkg/runtime/scheme.go:111"`,
    );
  }
  if (group === "" && version === "v1" && metaV1Kinds.has(k)) throw unknownConversion("v1");
  const gv = group === "" ? version : `${group}/${version}`;
  throw new PolicyDecodeError(
    `failed decoding: no kind ${goQuote(k)} is registered for version ${goQuote(gv)} in scheme "pkg/runtime/scheme.go:111"`,
  );
}

// ---------------------------------------------------------------------------------------------
// Node → the audit.k8s.io/v1 Go structs, with encoding/json's semantics

type GoType =
  | { readonly k: "string"; readonly go: string }
  | { readonly k: "bool"; readonly pointer: boolean }
  | { readonly k: "int64"; readonly pointer: boolean }
  | { readonly k: "time" }
  | { readonly k: "raw" }
  | { readonly k: "slice"; readonly go: string; readonly elem: GoType }
  | { readonly k: "map"; readonly go: string; readonly elem: GoType }
  | {
      readonly k: "struct";
      readonly name: string;
      readonly go: string;
      readonly fields: Readonly<Record<string, GoType>>;
    };

type GoStruct = Record<string, unknown>;
/** A Go slice: decoding into it again reuses the elements of its backing array (encoding/json). */
interface GoSlice {
  backing: unknown[];
  len: number;
}

const str = (go = "string"): GoType => ({ k: "string", go });
const sliceOf = (elem: GoType, go: string): GoType => ({ k: "slice", go, elem });
const stringSlice = sliceOf(str(), "[]string");
const boolPtr: GoType = { k: "bool", pointer: true };

// k8s.io/apimachinery@v0.37.2 pkg/apis/meta/v1/types.go ObjectMeta, OwnerReference, ManagedFieldsEntry.
const objectMeta: GoType = {
  k: "struct",
  name: "ObjectMeta",
  go: "v1.ObjectMeta",
  fields: {
    name: str(),
    generateName: str(),
    namespace: str(),
    selfLink: str(),
    uid: str("types.UID"),
    resourceVersion: str(),
    generation: { k: "int64", pointer: false },
    creationTimestamp: { k: "time" },
    deletionTimestamp: { k: "time" },
    deletionGracePeriodSeconds: { k: "int64", pointer: true },
    labels: { k: "map", go: "map[string]string", elem: str() },
    annotations: { k: "map", go: "map[string]string", elem: str() },
    ownerReferences: sliceOf(
      {
        k: "struct",
        name: "OwnerReference",
        go: "v1.OwnerReference",
        fields: {
          apiVersion: str(),
          kind: str(),
          name: str(),
          uid: str("types.UID"),
          controller: boolPtr,
          blockOwnerDeletion: boolPtr,
        },
      },
      "[]v1.OwnerReference",
    ),
    finalizers: stringSlice,
    managedFields: sliceOf(
      {
        k: "struct",
        name: "ManagedFieldsEntry",
        go: "v1.ManagedFieldsEntry",
        fields: {
          manager: str(),
          operation: str("v1.ManagedFieldsOperationType"),
          apiVersion: str(),
          time: { k: "time" },
          fieldsType: str(),
          fieldsV1: { k: "raw" },
          subresource: str(),
        },
      },
      "[]v1.ManagedFieldsEntry",
    ),
  },
};

// k8s.io/apiserver@v0.37.2 pkg/apis/audit/v1/types.go Policy, PolicyRule, GroupResources.
const stageSlice = sliceOf(str("v1.Stage"), "[]v1.Stage");
const policySchema: GoType = {
  k: "struct",
  name: "Policy",
  go: "v1.Policy",
  fields: {
    apiVersion: str(),
    kind: str(),
    metadata: objectMeta,
    rules: sliceOf(
      {
        k: "struct",
        name: "PolicyRule",
        go: "v1.PolicyRule",
        fields: {
          level: str("v1.Level"),
          users: stringSlice,
          userGroups: stringSlice,
          verbs: stringSlice,
          resources: sliceOf(
            {
              k: "struct",
              name: "GroupResources",
              go: "v1.GroupResources",
              fields: { group: str(), resources: stringSlice, resourceNames: stringSlice },
            },
            "[]v1.GroupResources",
          ),
          namespaces: stringSlice,
          nonResourceURLs: stringSlice,
          omitStages: stageSlice,
          omitManagedFields: boolPtr,
        },
      },
      "[]v1.PolicyRule",
    ),
    omitStages: stageSlice,
    omitManagedFields: { k: "bool", pointer: false },
  },
};

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * sigs.k8s.io/json (encoding/json, case-sensitive) decoding into the v1 structs: the first type
 * error is kept and decoding goes on, as Go's decoder does; unknown and duplicate fields are
 * collected as the strict decoder's complaints.
 */
class Decoder {
  failure: string | undefined;
  readonly strictErrors: string[] = [];

  private typeError(node: Node, type: string, struct: string, field: string, numberText = false) {
    const what = numberText && node.t === "number" ? `number ${node.raw}` : jsonKind(node);
    this.failure ??=
      struct === ""
        ? `json: cannot unmarshal ${what} into Go value of type ${type}`
        : `json: cannot unmarshal ${what} into Go struct field ${struct}.${field} of type ${type}`;
  }

  /**
   * Decodes `node` into a value of `type` whose current value is `current`, returning the new one.
   * `struct` and `field` name the enclosing struct and the dotted field path (Go's
   * UnmarshalTypeError), `path` the strict decoder's path with indexes.
   */
  value(node: Node, type: GoType, current: unknown, field: string, path: string, struct = ""): unknown {
    switch (type.k) {
      case "string":
        if (node.t === "null") return current;
        if (node.t === "string") return node.v;
        this.typeError(node, type.go, struct, field);
        return current;
      case "bool":
        if (node.t === "null") return type.pointer ? undefined : current;
        if (node.t === "bool") return node.v;
        this.typeError(node, "bool", struct, field);
        return current;
      case "int64": {
        if (node.t === "null") return type.pointer ? undefined : current;
        if (node.t === "number" && /^-?\d+$/.test(node.raw)) {
          const n = BigInt(node.raw);
          if (n >= -(2n ** 63n) && n < 2n ** 63n) return Number(n);
        }
        this.typeError(node, "int64", struct, field, true);
        return current;
      }
      case "time": {
        // metav1.Time.UnmarshalJSON: its errors end decoding at once, unwrapped.
        if (node.t === "null") return undefined;
        if (node.t !== "string") {
          this.failure ??= `json: cannot unmarshal ${jsonKind(node)} into Go value of type string`;
          return current;
        }
        const m = rfc3339.exec(node.v);
        const ok =
          m !== null &&
          Number(m[2]) >= 1 &&
          Number(m[2]) <= 12 &&
          Number(m[3]) >= 1 &&
          Number(m[3]) <= new Date(Date.UTC(Number(m[1]), Number(m[2]), 0)).getUTCDate() &&
          Number(m[4]) < 24 &&
          Number(m[5]) < 60 &&
          Number(m[6]) < 60 &&
          (m[7] === undefined || (Number(m[7]) < 24 && Number(m[8]) < 60));
        if (!ok)
          this.failure ??= `parsing time ${goQuote(node.v)} as "2006-01-02T15:04:05Z07:00": cannot parse ${goQuote(node.v)}`;
        return node.v;
      }
      case "raw":
        return node;
      case "slice": {
        if (node.t === "null") return undefined;
        if (node.t !== "array") {
          this.typeError(node, type.go, struct, field);
          return current;
        }
        if (node.items.length === 0) return { backing: [], len: 0 } satisfies GoSlice;
        const slice: GoSlice = (current as GoSlice | undefined) ?? { backing: [], len: 0 };
        node.items.forEach((item, i) => {
          slice.backing[i] = this.value(item, type.elem, slice.backing[i], field, `${path}[${i}]`, struct);
        });
        slice.len = node.items.length;
        return slice;
      }
      case "map": {
        if (node.t === "null") return undefined;
        if (node.t !== "object") {
          this.typeError(node, type.go, struct, field);
          return current;
        }
        const map = (current as Record<string, unknown> | undefined) ?? {};
        const seen = new Set<string>();
        for (const [key, item] of node.entries) {
          if (seen.has(key)) this.strictErrors.push(`duplicate field ${goQuote(joinPath(path, key))}`);
          seen.add(key);
          map[key] = this.value(
            item,
            type.elem,
            type.elem.k === "string" ? "" : undefined,
            field,
            joinPath(path, key),
            struct,
          );
        }
        return map;
      }
      case "struct": {
        if (node.t === "null") return current;
        if (node.t !== "object") {
          this.typeError(node, type.go, struct, field);
          return current;
        }
        const target: GoStruct = (current as GoStruct | undefined) ?? {};
        const seen = new Set<string>();
        for (const [key, item] of node.entries) {
          const fieldType = type.fields[key];
          const fieldPath = joinPath(path, key);
          if (fieldType === undefined) {
            this.strictErrors.push(`unknown field ${goQuote(fieldPath)}`);
            continue;
          }
          if (seen.has(key)) this.strictErrors.push(`duplicate field ${goQuote(fieldPath)}`);
          seen.add(key);
          const dotted = field === "" ? key : `${field}.${key}`;
          target[key] = this.value(item, fieldType, target[key], dotted, fieldPath, type.name);
        }
        return target;
      }
    }
  }
}

const joinPath = (path: string, key: string) => (path === "" ? key : `${path}.${key}`);

const sliceItems = (value: unknown): unknown[] | undefined => {
  const s = value as GoSlice | undefined;
  return s === undefined ? undefined : s.backing.slice(0, s.len);
};
const strings = (value: unknown): string[] | undefined =>
  sliceItems(value)?.map((v) => (v as string | undefined) ?? "");

/** A policy as decoded, before validation: levels and stages may still be anything. */
interface LoosePolicy {
  readonly rules: readonly LooseRule[];
  readonly omitStages?: readonly string[];
  readonly omitManagedFields?: boolean;
}
interface LooseRule extends Omit<PolicyRule, "level" | "omitStages"> {
  readonly level: string;
  readonly omitStages?: readonly string[];
}

function toPolicy(decoded: GoStruct): LoosePolicy {
  const rules = (sliceItems(decoded.rules) ?? []).map((r): LooseRule => {
    const rule = (r as GoStruct | undefined) ?? {};
    const resources = sliceItems(rule.resources)?.map((g): GroupResources => {
      const gr = (g as GoStruct | undefined) ?? {};
      return omitUndefined({
        group: (gr.group as string | undefined) ?? "",
        resources: strings(gr.resources),
        resourceNames: strings(gr.resourceNames),
      });
    });
    return omitUndefined({
      level: (rule.level as string | undefined) ?? "",
      users: strings(rule.users),
      userGroups: strings(rule.userGroups),
      verbs: strings(rule.verbs),
      resources,
      namespaces: strings(rule.namespaces),
      nonResourceURLs: strings(rule.nonResourceURLs),
      omitStages: strings(rule.omitStages),
      omitManagedFields: rule.omitManagedFields as boolean | undefined,
    });
  });
  return omitUndefined({
    rules,
    omitStages: strings(decoded.omitStages),
    omitManagedFields: decoded.omitManagedFields === true ? true : undefined,
  });
}

function omitUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

// ---------------------------------------------------------------------------------------------
// k8s.io/apiserver@v0.37.2 pkg/apis/audit/validation/validation.go ValidatePolicy, with
// k8s.io/apimachinery@v0.37.2 util/validation/field's error texts.

const validStages: readonly string[] = stages;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dns1123SubdomainMessage =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

const invalid = (field: string, value: string, detail: string) => `${field}: Invalid value: ${value}: ${detail}`;
const goJsonList = (list: readonly string[]) => `[${list.map(goJsonString).join(",")}]`;

function validatePolicy(policy: LoosePolicy): string[] {
  const errors = validateOmitStages(policy.omitStages, "omitStages");
  policy.rules.forEach((rule, i) => {
    errors.push(...validatePolicyRule(rule, `rules[${i}]`));
  });
  return errors;
}

function validatePolicyRule(rule: LooseRule, path: string): string[] {
  const errors: string[] = [];
  if (rule.level === "") errors.push(`${path}.level: Required value`);
  else if (!(levels as readonly string[]).includes(rule.level)) {
    errors.push(
      `${path}.level: Unsupported value: ${goJsonString(rule.level)}: supported values: ${levels.map((l) => `"${l}"`).join(", ")}`,
    );
  }
  (rule.nonResourceURLs ?? []).forEach((url, i) => {
    if (url === "*") return;
    const field = `${path}.nonResourceURLs[${i}]`;
    if (!url.startsWith("/"))
      errors.push(invalid(field, goQuote(url), "non-resource URL rules must begin with a '/' character"));
    if (url !== "" && url.slice(0, -1).includes("*")) {
      errors.push(
        invalid(field, goQuote(url), "non-resource URL wildcards '*' must be the final character of the rule"),
      );
    }
  });
  // The group's path carries no index in kube-apiserver's messages (fldPath.Child("group")).
  for (const gr of rule.resources ?? []) {
    const group = gr.group ?? "";
    if (group !== "" && group !== "*") {
      const messages: string[] = [];
      if (Buffer.byteLength(group) > 253) messages.push("must be no more than 253 characters");
      if (!dns1123Subdomain.test(group)) messages.push(dns1123SubdomainMessage);
      if (messages.length > 0) errors.push(invalid(`${path}.resources.group`, goQuote(group), messages.join(",")));
    }
    if ((gr.resourceNames?.length ?? 0) > 0 && (gr.resources?.length ?? 0) === 0) {
      errors.push(
        invalid(
          `${path}.resources.resourceNames`,
          goJsonList(gr.resourceNames ?? []),
          "using resourceNames requires at least one resource",
        ),
      );
    }
  }
  errors.push(...validateOmitStages(rule.omitStages, `${path}.omitStages`));
  if (
    (rule.nonResourceURLs?.length ?? 0) > 0 &&
    ((rule.resources?.length ?? 0) > 0 || (rule.namespaces?.length ?? 0) > 0)
  ) {
    errors.push(
      invalid(
        `${path}.nonResourceURLs`,
        goJsonList(rule.nonResourceURLs ?? []),
        "rules cannot apply to both regular resources and non-resource URLs",
      ),
    );
  }
  return errors;
}

function validateOmitStages(omitStages: readonly string[] | undefined, path: string): string[] {
  const errors: string[] = [];
  (omitStages ?? []).forEach((stage, i) => {
    if (!validStages.includes(stage)) {
      errors.push(invalid(`${path}[${i}]`, goQuote(stage), `allowed stages are ${validStages.join(",")}`));
    }
  });
  return errors;
}

/** field.ErrorList.ToAggregate().Error(): duplicates dropped, several in brackets. */
function aggregate(errors: readonly string[]): string {
  const unique = [...new Set(errors)];
  return unique.length === 1 ? (unique[0] as string) : `[${unique.join(", ")}]`;
}

/** Go's %q (strconv.Quote) for the strings a policy holds. */
function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\x07") out += "\\a";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (ch === "\v") out += "\\v";
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, "0")}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += "\\ufffd";
    else if (/[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u.test(ch) || (/\p{Zs}/u.test(ch) && ch !== " ")) {
      out += cp > 0xffff ? `\\U${cp.toString(16).padStart(8, "0")}` : `\\u${cp.toString(16).padStart(4, "0")}`;
    } else out += ch;
  }
  return `${out}"`;
}

/**
 * encoding/json's quoteChar for a syntax error: it looks at one byte, so a non-ASCII character is
 * shown as its first UTF-8 byte read as a Latin-1 character (U+00A0 as 'Â').
 */
function goCharQuote(ch: string): string {
  const byte = Buffer.from(ch)[0] as number;
  if (byte === 0x27) return "'\\''";
  if (byte === 0x22) return `'"'`;
  return `'${goQuote(String.fromCharCode(byte)).slice(1, -1)}'`;
}

// ---------------------------------------------------------------------------------------------
// k8s.io/apiserver@v0.37.2 pkg/audit/policy/checker.go

/** checker.go DefaultAuditLevel: a request no rule matches is not audited. */
export const defaultAuditLevel: Level = "None";

/**
 * NewPolicyRuleEvaluator: each rule's omitStages become the union of the policy's and its own;
 * the first matching rule decides; no match gives level None with the policy's omitStages (as
 * written) and omitManagedFields. Go returns the union in map order (random); here it is in order
 * of first appearance, policy's first.
 */
export function createPolicyRuleEvaluator(policy: Policy): PolicyRuleEvaluator {
  const rules = policy.rules.map((rule) => ({
    rule,
    omitStages: [...new Set<Stage>([...(policy.omitStages ?? []), ...(rule.omitStages ?? [])])],
  }));
  const policyOmitManagedFields = policy.omitManagedFields ?? false;
  return {
    evaluatePolicyRule(attributes: PolicyAttributes): RequestAuditConfig {
      for (const { rule, omitStages } of rules) {
        if (ruleMatches(rule, attributes)) {
          // isOmitManagedFields: the rule's own setting, when it has one, overrides the policy's.
          return {
            level: rule.level,
            omitStages,
            omitManagedFields: rule.omitManagedFields ?? policyOmitManagedFields,
          };
        }
      }
      return {
        level: defaultAuditLevel,
        omitStages: policy.omitStages ?? [],
        omitManagedFields: policyOmitManagedFields,
      };
    },
  };
}

/**
 * pkg/server/options/audit.go newPolicyRuleEvaluator: no --audit-policy-file, no evaluator, and
 * then kube-apiserver records no events at all (filters.WithAudit is skipped).
 */
export function policyRuleEvaluatorFromFile(
  path: string,
  options: LoadPolicyOptions = {},
): PolicyRuleEvaluator | undefined {
  return path === "" ? undefined : createPolicyRuleEvaluator(loadPolicyFile(path, options));
}

const has = (list: readonly string[], value: string) => list.includes(value);

function ruleMatches(rule: PolicyRule, attributes: PolicyAttributes): boolean {
  const user = attributes.user;
  if (rule.users?.length) {
    if (user === undefined || !has(rule.users, user.username)) return false;
  }
  if (rule.userGroups?.length) {
    const groups = rule.userGroups;
    if (user === undefined || !user.groups.some((g) => has(groups, g))) return false;
  }
  if (rule.verbs?.length && !has(rule.verbs, attributes.verb)) return false;
  // Namespaces or resources make it a resource rule, even with nonResourceURLs beside them
  // (validation refuses that combination, but this is the order checker.go tests in).
  if (rule.namespaces?.length || rule.resources?.length) return ruleMatchesResource(rule, attributes);
  if (rule.nonResourceURLs?.length) return ruleMatchesNonResource(rule, attributes);
  return true;
}

function ruleMatchesNonResource(rule: PolicyRule, attributes: PolicyAttributes): boolean {
  if (attributes.resourceRequest) return false;
  const path = attributes.path ?? "";
  return (rule.nonResourceURLs ?? []).some((spec) => pathMatches(path, spec));
}

function pathMatches(path: string, spec: string): boolean {
  if (spec === "*" || spec === path) return true;
  // strings.TrimRight(spec, "*"): every trailing star goes, so "/api**" matches like "/api*".
  return spec.endsWith("*") && path.startsWith(spec.replace(/\*+$/, ""));
}

function ruleMatchesResource(rule: PolicyRule, attributes: PolicyAttributes): boolean {
  if (!attributes.resourceRequest) return false;
  // Non-namespaced resources have the namespace "".
  if (rule.namespaces?.length && !has(rule.namespaces, attributes.namespace ?? "")) return false;
  if (!rule.resources?.length) return true;
  const apiGroup = attributes.apiGroup ?? "";
  const resource = attributes.resource ?? "";
  const subresource = attributes.subresource ?? "";
  const combined = subresource === "" ? resource : `${resource}/${subresource}`;
  const name = attributes.name ?? "";
  for (const gr of rule.resources) {
    const group = gr.group ?? "";
    if (group !== apiGroup && group !== "*") continue;
    if (!gr.resources?.length) return true;
    for (const res of gr.resources) {
      if (gr.resourceNames?.length && !has(gr.resourceNames, name)) continue;
      if (res === combined || res === "*") return true;
      if (subresource !== "" && res.startsWith("*/") && subresource === res.slice(2)) return true;
      if (res.endsWith("/*") && resource === res.slice(0, -2)) return true;
    }
  }
  return false;
}
