// Libraries only some configurations need, loaded on first use instead of at start-up: YAML (a
// --config or --authentication-config file) and CEL (claim mappings and validation rules of an
// AuthenticationConfiguration). A `serve` with --oidc-* flags and an in-cluster or JSON-free
// setup never loads them: measured with the built package on Node 24, importing yaml costs
// ~7 MiB of RSS and @marcbachmann/cel-js with re2js and our CEL port ~2.5 MiB
// (bench/cli-startup.ts reports the idle serve's RSS).
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

/** yaml's parse(), the library loaded on the first call. */
export function parseYaml(text: string): unknown {
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
