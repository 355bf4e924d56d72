// What kube-apiserver's authorizer sees of a request: verb, API group and version, resource,
// subresource, namespace and name, or a non-resource path. Nested impersonation needs it for the
// impersonate-on:<mode>:<verb> checks of constrained impersonation, and those checks are only as
// good as the match with what kube-apiserver itself derives: a gateway that reads "watch=yes" as
// a list, or "/api/v1/namespaces/a%2Fb/pods" as namespace "a%2Fb", authorizes a different request
// than the one the API server then runs. So this is a port, line for line, of
// k8s.io/apiserver@v0.37.2 pkg/endpoints/request/requestinfo.go (RequestInfoFactory.NewRequestInfo
// with kube-apiserver's APIPrefixes {api, apis} and GrouplessAPIPrefixes {api}), on the URL as Go's
// net/http (go1.26) hands it over: req.URL.Path is the percent-decoded path, req.URL.Query() the
// decoded query (net/url url.go: parse, unescape, parseQuery).
import { StatusError } from "../proxy/status.ts";

export type RequestAttributes =
  | {
      readonly resourceRequest: true;
      readonly verb: string;
      readonly group: string;
      readonly version: string;
      readonly resource: string;
      readonly subresource: string;
      readonly namespace: string;
      readonly name: string;
    }
  | { readonly resourceRequest: false; readonly verb: string; readonly path: string };

// requestinfo.go: specialVerbs, specialVerbsNoSubresources, namespaceSubresources.
const specialVerbs = new Set(["proxy", "watch"]);
const specialVerbsNoSubresources = new Set(["proxy"]);
const namespaceSubresources = new Set(["status", "finalize"]);
const apiPrefixes = new Set(["api", "apis"]);
const grouplessApiPrefixes = new Set(["api"]);
const methodVerbs = new Map([
  ["POST", "create"],
  ["GET", "get"],
  ["HEAD", "get"],
  ["PUT", "update"],
  ["PATCH", "patch"],
  ["DELETE", "delete"],
]);

/** Go's net/http refuses a request-URI it cannot parse with 400 before any handler runs. */
export class MalformedRequestUriError extends StatusError {
  constructor(detail: string) {
    super("MALFORMED_REQUEST_URI", 400, "BadRequest", `malformed request URI: ${detail}`);
  }
}

const utf8 = new TextDecoder("utf-8");
const isHex = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** The bytes of a request target as Node holds it (latin1, one char per byte; UTF-8 for wider chars). */
function targetBytes(text: string): Buffer {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: wider than latin1 is what is tested
  return /^[\u0000-\u00ff]*$/.test(text) ? Buffer.from(text, "latin1") : Buffer.from(text, "utf8");
}

/**
 * net/url unescape: every % must start a two-hex-digit escape (else an error, and the value is
 * unusable), "+" is a space only in a query component. Go strings are bytes; the result is read as
 * UTF-8 here, which is what reaches the SubjectAccessReview's JSON either way.
 */
function goUnescape(text: string, query: boolean): string | undefined {
  if (!text.includes("%") && !(query && text.includes("+"))) return text;
  const bytes = targetBytes(text);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] ?? 0;
    if (c === 0x25) {
      const h = bytes[i + 1] ?? 0;
      const l = bytes[i + 2] ?? 0;
      if (i + 2 >= bytes.length || !isHex(h) || !isHex(l)) return undefined;
      out.push(Number.parseInt(String.fromCharCode(h, l), 16));
      i += 2;
    } else out.push(query && c === 0x2b ? 0x20 : c);
  }
  return utf8.decode(Uint8Array.from(out));
}

/** net/url parseQuery (go1.26): `&`-separated, pairs with `;` or bad escapes skipped, at most 10,000. */
function parseQuery(raw: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  if (raw.split("&").length > 10_000) return values; // urlParamsWithinMax: Query() is then empty
  for (const pair of raw.split("&")) {
    if (pair.includes(";") || pair === "") continue;
    const eq = pair.indexOf("=");
    const key = goUnescape(eq === -1 ? pair : pair.slice(0, eq), true);
    const value = goUnescape(eq === -1 ? "" : pair.slice(eq + 1), true);
    if (key === undefined || value === undefined) continue;
    const list = values.get(key);
    if (list) list.push(value);
    else values.set(key, [value]);
  }
  return values;
}

/**
 * req.URL.Path and req.URL.RawQuery as net/url ParseRequestURI leaves them: origin-form
 * "/path?query", absolute-form "scheme://authority/path?query" (a proxy-style target; Go accepts
 * it and uses its path), or "*". Anything else, a control byte, or a bad escape in the path is
 * Go's 400.
 */
function splitTarget(target: string): { path: string; rawQuery: string } {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: url.go stringContainsCTLByte
  if (/[\u0000-\u001f\u007f]/.test(target)) throw new MalformedRequestUriError("invalid control character in URL");
  if (target === "*") return { path: "*", rawQuery: "" };
  const q = target.indexOf("?");
  let rest = q === -1 ? target : target.slice(0, q);
  const rawQuery = q === -1 ? "" : target.slice(q + 1);
  if (!rest.startsWith("/")) {
    const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:/.exec(rest);
    if (!scheme) throw new MalformedRequestUriError("invalid URI for request");
    rest = rest.slice(scheme[0].length);
    if (!rest.startsWith("/")) return { path: "", rawQuery }; // opaque: Path stays empty
    if (rest.startsWith("//")) {
      const slash = rest.indexOf("/", 2);
      rest = slash === -1 ? "" : rest.slice(slash);
    }
  }
  const path = goUnescape(rest, false);
  if (path === undefined) throw new MalformedRequestUriError("invalid URL escape");
  return { path, rawQuery };
}

/** requestinfo.go splitPath: trim the slashes at both ends, keep the empty segments inside. */
function splitPath(path: string): string[] {
  const trimmed = path.replace(/^\/+|\/+$/g, "");
  return trimmed === "" ? [] : trimmed.split("/");
}

/**
 * Convert_Slice_string_To_bool (k8s.io/apimachinery@v0.37.2 pkg/runtime/conversion.go): only
 * "0" and "false" (strings.EqualFold, so "FALSE" and the long s "falſe" too) are false; anything
 * else, "" and "yes" and "garbage" included, is true.
 */
const goBool = (value: string) => !(value === "0" || value.replace(/\u017f/g, "s").toLowerCase() === "false");
/** requestinfo.go's fallback when the options do not decode: strings.ToLower, then "false"/"0". */
const fallbackBool = (value: string) => !["false", "0"].includes(value.replace(/[A-Z]/g, (c) => c.toLowerCase()));

/**
 * metainternalversionscheme.ParameterCodec.DecodeParameters into ListOptions: what it takes from
 * the query, or undefined when it fails (zz_generated.conversion.go autoConvert_url_Values_To_v1_ListOptions:
 * timeoutSeconds and limit are strconv.ParseInt; then labels.Parse and fields.ParseSelector).
 */
function decodeListOptions(query: Map<string, string[]>): { watch: boolean; fieldSelector: FieldTerm[] } | undefined {
  const first = (key: string) => query.get(key)?.[0];
  for (const key of ["timeoutSeconds", "limit"]) {
    const value = first(key);
    if (value !== undefined && !isInt64(value)) return undefined;
  }
  const labels = first("labelSelector");
  if (labels !== undefined && !labelSelectorParses(labels)) return undefined;
  const fieldSelector = parseFieldSelector(first("fieldSelector") ?? "");
  if (fieldSelector === undefined) return undefined;
  const watch = first("watch");
  return { watch: watch !== undefined && goBool(watch), fieldSelector };
}

/** strconv.ParseInt(s, 10, 64). */
function isInt64(value: string): boolean {
  if (!/^[+-]?[0-9]+$/.test(value)) return false;
  const n = BigInt(value);
  return n >= -(2n ** 63n) && n < 2n ** 63n;
}

interface FieldTerm {
  readonly field: string;
  readonly op: "=" | "==" | "!=";
  readonly value: string;
}

/** Go's sort.Strings: by bytes. */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));

/** k8s.io/apimachinery@v0.37.2 pkg/fields/selector.go parseSelector (splitTerms, splitTerm, UnescapeValue). */
function parseFieldSelector(selector: string): FieldTerm[] | undefined {
  if (selector === "") return [];
  const parts: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (inSlash) inSlash = false;
    else if (c === "\\") inSlash = true;
    else if (c === ",") {
      parts.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(selector.slice(start));
  parts.sort(byteOrder);
  const terms: FieldTerm[] = [];
  for (const part of parts) {
    if (part === "") continue;
    const split = /^(.*?)(!=|==|=)(.*)$/s.exec(part);
    if (!split) return undefined;
    const value = unescapeFieldValue(split[3] ?? "");
    if (value === undefined) return undefined;
    terms.push({ field: split[1] ?? "", op: split[2] as FieldTerm["op"], value });
  }
  return terms;
}

function unescapeFieldValue(value: string): string | undefined {
  let out = "";
  let inSlash = false;
  for (const c of value) {
    if (inSlash) {
      if (c !== "\\" && c !== "," && c !== "=") return undefined;
      out += c;
      inSlash = false;
    } else if (c === "\\") inSlash = true;
    else if (c === "," || c === "=") return undefined;
    else out += c;
  }
  return inSlash ? undefined : out;
}

/** fields.Selector RequiresExactMatch: the first (sorted) "=" or "==" term on the field. */
function requiresExactMatch(terms: readonly FieldTerm[], field: string): string | undefined {
  return terms.find((t) => t.field === field && t.op !== "!=")?.value;
}

/** content.IsPathSegmentName: not "." or "..", no "/" or "%". */
const isPathSegmentName = (name: string) => name !== "." && name !== ".." && !/[/%]/.test(name);

// k8s.io/apimachinery@v0.37.2 pkg/api/validate/content/kube.go IsLabelKey and IsLabelValue.
const labelName = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
function isLabelKey(key: string): boolean {
  const parts = key.split("/");
  if (parts.length > 2) return false;
  const name = parts.at(-1) ?? "";
  if (parts.length === 2) {
    const prefix = parts[0] ?? "";
    if (prefix === "" || prefix.length > 253 || !dns1123Subdomain.test(prefix)) return false;
  }
  return name !== "" && name.length <= 63 && labelName.test(name);
}
const isLabelValue = (value: string) => value === "" || (value.length <= 63 && labelName.test(value));

type LabelToken = "error" | "end" | ")" | "," | "!" | "==" | "=" | ">" | "in" | "<" | "!=" | "notin" | "(" | "id";
const labelTokens = new Set(["(", ")", ",", "!", "==", "=", ">", "in", "<", "!=", "notin"]);
const isLabelSpecial = (c: string) => "=!(),><".includes(c);
const isLabelSpace = (c: string) => c === " " || c === "\t" || c === "\r" || c === "\n";

/**
 * The Lexer of k8s.io/apimachinery@v0.37.2 pkg/labels/selector.go, whole input at once. read()
 * gives 0 at the end and for a NUL byte alike: a NUL where a token starts ends the input, one
 * inside a token ends that token (and is consumed).
 */
function lexLabels(s: string): { tok: LabelToken; lit: string }[] {
  const items: { tok: LabelToken; lit: string }[] = [];
  let pos = 0;
  const read = () => (pos < s.length ? (s[pos++] ?? "\0") : "\0");
  for (;;) {
    let ch = read();
    while (isLabelSpace(ch)) ch = read();
    if (ch === "\0") {
      items.push({ tok: "end", lit: "" });
      return items;
    }
    pos--;
    let buffer = "";
    if (isLabelSpecial(ch)) {
      // scanSpecialSymbol: the longest run of special symbols that is still a token.
      let last: LabelToken | undefined;
      for (;;) {
        const c = read();
        if (c === "\0") break;
        if (!isLabelSpecial(c)) {
          pos--;
          break;
        }
        buffer += c;
        if (labelTokens.has(buffer)) last = buffer as LabelToken;
        else if (last !== undefined) {
          pos--;
          break;
        }
      }
      items.push(last === undefined ? { tok: "error", lit: buffer } : { tok: last, lit: last });
      continue;
    }
    for (;;) {
      const c = read();
      if (c === "\0") break;
      if (isLabelSpecial(c) || isLabelSpace(c)) {
        pos--;
        break;
      }
      buffer += c;
    }
    items.push({ tok: buffer === "in" || buffer === "notin" ? buffer : "id", lit: buffer });
  }
}

/** labels.Parse succeeds (Parser.parse, parseRequirement, NewRequirement's validation). */
export function labelSelectorParses(selector: string): boolean {
  const items = lexLabels(selector);
  let position = 0;
  // In the Values context, "in" and "notin" are identifiers (Parser.lookahead/consume).
  const asValue = (t: LabelToken): LabelToken => (t === "in" || t === "notin" ? "id" : t);
  const peek = (values = true) => {
    const item = items[position] ?? { tok: "end" as const, lit: "" };
    return { tok: values ? asValue(item.tok) : item.tok, lit: item.lit };
  };
  const next = (values = true) => {
    const item = peek(values);
    position++;
    return item;
  };
  const requirement = (): boolean => {
    let { tok, lit } = next();
    let notExists = false;
    if (tok === "!") {
      notExists = true;
      ({ tok, lit } = next());
    }
    if (tok !== "id" || !isLabelKey(lit)) return false;
    const after = peek().tok;
    if (after === "end" || after === ",") return true;
    if (notExists) return false; // "!key" then an operator: parseOperator fails on what follows
    const op = next(false).tok;
    let values: string[];
    if (op === "in" || op === "notin") {
      if (next().tok !== "(") return false;
      const first = peek().tok;
      if (first === ")") {
        next();
        values = [""];
      } else if (first === "id" || first === ",") {
        const set = new Set<string>();
        for (;;) {
          const item = next();
          if (item.tok === "id") {
            set.add(item.lit);
            const t2 = peek().tok;
            if (t2 === ")") break;
            if (t2 !== ",") return false;
          } else if (item.tok === ",") {
            if (set.size === 0) set.add("");
            const t2 = peek().tok;
            if (t2 === ")") {
              set.add("");
              break;
            }
            if (t2 === ",") set.add("");
          } else return false;
        }
        if (next().tok !== ")") return false;
        values = [...set];
      } else return false;
    } else if (op === "=" || op === "==" || op === "!=" || op === ">" || op === "<") {
      const t = peek().tok;
      if (t === "end" || t === ",") values = [""];
      else {
        const item = next();
        if (item.tok !== "id") return false;
        values = [item.lit];
      }
      if ((op === ">" || op === "<") && !values.every(isInt64)) return false;
    } else return false;
    return values.every(isLabelValue);
  };
  for (;;) {
    const { tok } = peek();
    if (tok === "end") return true;
    if (tok !== "id" && tok !== "!") return false;
    if (!requirement()) return false;
    const t = next().tok;
    if (t === "end") return true;
    if (t !== ",") return false;
    const t2 = peek().tok;
    if (t2 !== "id" && t2 !== "!") return false;
  }
}

/**
 * RequestInfoFactory.NewRequestInfo for `method` and the request target as the client sent it.
 * Throws MalformedRequestUriError where Go's server would answer 400 before kube-apiserver ran.
 */
export function requestAttributes(method: string, target: string): RequestAttributes {
  const { path, rawQuery } = splitTarget(target);
  const nonResource = { resourceRequest: false as const, verb: method.toLowerCase(), path };
  let parts = splitPath(path);
  if (parts.length < 3 || !apiPrefixes.has(parts[0] ?? "")) return nonResource;
  const prefix = parts[0] ?? "";
  parts = parts.slice(1);
  let group = "";
  if (!grouplessApiPrefixes.has(prefix)) {
    // one part (the prefix) is consumed already: "do we have four parts?"
    if (parts.length < 3) return nonResource;
    group = parts[0] ?? "";
    parts = parts.slice(1);
  }
  const version = parts[0] ?? "";
  parts = parts.slice(1);
  let verb: string;
  if (specialVerbs.has(parts[0] ?? "")) {
    // NewRequestInfo returns an error here; WithRequestInfo then answers 500 before impersonation
    // (filters/requestinfo.go), so the impersonation is never asked about: refuse alike.
    if (parts.length < 2)
      throw new StatusError("REQUEST_INFO", 500, "InternalError", "unable to determine kind and namespace from url");
    verb = parts[0] ?? "";
    parts = parts.slice(1);
  } else {
    verb = methodVerbs.get(method) ?? "";
  }
  let namespace = "";
  if (parts[0] === "namespaces") {
    if (parts.length > 1) {
      namespace = parts[1] ?? "";
      if (parts.length > 2 && !namespaceSubresources.has(parts[2] ?? "")) parts = parts.slice(2);
    }
  }
  // parts: resource/name/subresource/...
  let subresource = "";
  let name = "";
  let resource = "";
  if (parts.length >= 3 && !specialVerbsNoSubresources.has(verb)) subresource = parts[2] ?? "";
  if (parts.length >= 2) name = parts[1] ?? "";
  if (parts.length >= 1) resource = parts[0] ?? "";
  if (name === "" && verb === "get") {
    const query = parseQuery(rawQuery);
    const options = decodeListOptions(query);
    let watch: boolean;
    if (options) watch = options.watch;
    else {
      const first = query.get("watch")?.[0];
      watch = first !== undefined && fallbackBool(first);
    }
    verb = watch ? "watch" : "list";
    const exact = options ? requiresExactMatch(options.fieldSelector, "metadata.name") : undefined;
    if (exact !== undefined && isPathSegmentName(exact)) name = exact;
  }
  if (name === "" && verb === "delete") verb = "deletecollection";
  return { resourceRequest: true, verb, group, version, resource, subresource, namespace, name };
}
