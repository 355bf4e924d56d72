// src/config/lazy-libraries.ts: the YAML library and the CEL port load on first use, and a JSON
// document never loads YAML (issue 21: not loading yaml takes ~8.5 MiB off an idle serve's RSS).
// Each case runs in a fresh Node process, so what is loaded is that case's doing alone.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { parseYaml } from "../../src/config/lazy-libraries.ts";

const lazy = pathToFileURL(join(import.meta.dirname, "..", "..", "src", "config", "lazy-libraries.ts")).href;

/**
 * Runs `body` in a fresh process with `m` the lazy-libraries module and `loaded(part)` saying
 * whether a module whose URL contains `part` was loaded (module.registerHooks sees import and
 * require alike); returns what it printed.
 */
function inFreshProcess(body: string): string {
  const script = `
    import { registerHooks } from "node:module";
    const urls = [];
    registerHooks({ load(url, context, next) { urls.push(url); return next(url, context); } });
    const m = await import(${JSON.stringify(lazy)});
    const loaded = (part) => urls.some((url) => url.includes(part));
    ${body}`;
  return execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }).trim();
}

describe("lazy libraries", () => {
  it("reads a JSON document without loading the YAML library, and YAML with it", () => {
    const out = inFreshProcess(`
      const json = m.parseYaml('{"secure-port": 8443, "x": [1, true, null, "a"]}');
      const afterJson = loaded("/node_modules/yaml/");
      const yaml = m.parseYaml("secure-port: 8443\\nx: [1, true, null, a]\\n");
      console.log(JSON.stringify({ json, afterJson, yaml, afterYaml: loaded("/node_modules/yaml/") }));`);
    assert.deepEqual(JSON.parse(out), {
      json: { "secure-port": 8443, x: [1, true, null, "a"] },
      afterJson: false,
      yaml: { "secure-port": 8443, x: [1, true, null, "a"] },
      afterYaml: true,
    });
  });

  it("gives YAML's answer for flow-style YAML and YAML's error for text that is neither", () => {
    assert.deepEqual(parseYaml("{a: 1, b: [x, y]}"), { a: 1, b: ["x", "y"] });
    assert.deepEqual(parseYaml('  \n{"a": 1}\n'), { a: 1 });
    assert.throws(() => parseYaml("{a: 1"), /Expected flow map to end with \}|flow map/i);
  });

  it("refuses a JSON document that repeats a key, as YAML does (regression: the JSON fast path kept the last value)", () => {
    // kube-apiserver's strict decoding refuses a repeated field in an AuthenticationConfiguration;
    // JSON.parse alone would have read {"a": 2} and accepted what it refuses.
    assert.throws(() => parseYaml('{"a": 1, "a": 2}'), /Map keys must be unique/);
    assert.throws(() => parseYaml('{"x": {"b": 1, "b": 2}}'), /Map keys must be unique/);
    assert.throws(() => parseYaml('[{"b": 1, "c": {"d": [1, {"e": 1, "e": 1}]}}]'), /Map keys must be unique/);
    // The same key once escaped and once not is the same key.
    assert.throws(() => parseYaml('{"a\\"b": 1, "a\\u0022b": 2}'), /Map keys must be unique/);
    // The same name in sibling objects, in arrays of objects and as a value is no repeat.
    assert.deepEqual(parseYaml('{"x": {"a": 1}, "y": {"a": 2}, "z": [{"a": 1}, {"a": 2}], "a": "a"}'), {
      x: { a: 1 },
      y: { a: 2 },
      z: [{ a: 1 }, { a: 2 }],
      a: "a",
    });
    assert.deepEqual(parseYaml('{"s": "a,\\"{[", "t": "}", "s2": 1}'), { s: 'a,"{[', t: "}", s2: 1 });
  });

  it("loads the CEL port on the first celLibrary() call, not with the module", () => {
    const out = inFreshProcess(`
      const before = loaded("/@marcbachmann/cel-js/") || loaded("/re2js/");
      const compiled = typeof m.celLibrary().compileExpression("claims.sub", "claims", "string");
      console.log(JSON.stringify({ before, compiled, after: loaded("/@marcbachmann/cel-js/") }));`);
    assert.deepEqual(JSON.parse(out), { before: false, compiled: "object", after: true });
  });
});
