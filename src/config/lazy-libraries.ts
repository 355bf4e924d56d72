// Libraries only some configurations need, loaded on first use instead of at start-up: YAML (a
// --config or --authentication-config file that is not JSON) and CEL (claim mappings and
// validation rules of an AuthenticationConfiguration). A `serve` with --oidc-* flags and JSON or
// no files never loads them. Measured with the built package on Node 24 (idle serve on the test
// bed, RSS 5 s after ready, medians of three interleaved rounds): 84.0 MiB with both loaded at
// start, 78.3 without CEL and the audit pipeline, 69.8 without yaml too.
//
// The callers are synchronous (the configuration is parsed in one pass), so the modules are
// loaded with require(): yaml's "node" export is CommonJS, and our CEL port is an ES module
// without top-level await, which require() loads on every Node this package supports (>= 22.18;
// require(esm) is on by default since 22.12 and warns only under --trace-require-module since
// nodejs/node#56194).
import { createRequire } from "node:module";
import type * as Yaml from "yaml";
import type * as Cel from "../apiserver/cel.ts";

const require = createRequire(import.meta.url);
let yaml: typeof Yaml | undefined;
let cel: typeof Cel | undefined;

/**
 * Whether valid JSON text must go to the YAML library instead of JSON.parse: a key that repeats
 * within one object, or a key written with an escape.
 * - Repeats: JSON.parse keeps the last value; the YAML library refuses, and so does kube-apiserver,
 *   whose strict decoding of an AuthenticationConfiguration (k8s.io/kubernetes@v1.37.2
 *   pkg/kubeapiserver/options/authentication.go, serializer.EnableStrict) reports a duplicate field.
 * - Escapes: Node 24.21's JSON.parse can decode an escaped key wrongly once an earlier parse in
 *   the process has seen the key "\\" at the same place in an object's shape (after
 *   `JSON.parse('{"\\\\": 2}')`, `JSON.parse('{"a": {"\\u0062": 2}}')` gives the key "\\", not
 *   "b"; Node 20 is right; nodejs/node#63785, V8 crbug 521080746). Config keys are plain words, so this
 *   costs nothing in practice. test/config/lazy-libraries.test.ts holds parseYaml against the YAML
 *   library on generated JSON.
 * Only called on text JSON.parse accepted, so strings and nesting need no validation here.
 */
function needsYamlLibrary(text: string): boolean {
  const objects: (Set<string> | undefined)[] = []; // undefined: an array
  let atKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      const keys = objects[objects.length - 1];
      if (atKey && keys) {
        const raw = text.slice(i, end + 1);
        if (raw.includes("\\")) return true;
        const key = JSON.parse(raw) as string;
        if (keys.has(key)) return true;
        keys.add(key);
        atKey = false;
      }
      i = end;
    } else if (c === "{") {
      objects.push(new Set());
      atKey = true;
    } else if (c === "[") {
      objects.push(undefined);
    } else if (c === "}" || c === "]") {
      objects.pop();
      atKey = false;
    } else if (c === ",") {
      atKey = objects[objects.length - 1] !== undefined;
    }
  }
  return false;
}

/**
 * A YAML document's value. JSON is YAML: text that JSON.parse accepts is read with it, and the
 * YAML library is loaded only for the rest, and for JSON whose keys repeat (which it refuses, as it
 * always did) or are escaped (see needsYamlLibrary).
 */
export function parseYaml(text: string): unknown {
  const start = text.trimStart()[0];
  if (start === "{" || start === "[") {
    try {
      const value: unknown = JSON.parse(text);
      if (!needsYamlLibrary(text)) return value;
    } catch {
      // YAML's flow style, or not valid at all: the YAML parser reads it or says why not.
    }
  }
  yaml ??= require("yaml") as typeof Yaml;
  return yaml.parse(text);
}

/**
 * The CEL port (src/apiserver/cel.ts), loaded on the first call. Its file ends as this one does:
 * .ts when running from src/ through type stripping, .js in the built package (dist/).
 */
export function celLibrary(): typeof Cel {
  cel ??= require(`../apiserver/cel${import.meta.url.slice(import.meta.url.lastIndexOf("."))}`) as typeof Cel;
  return cel;
}
