// scripts/build-package.ts's own checks of what tsc emitted: they are what stands between a
// module-loading error and the package, so they are tried on trees that are wrong on purpose.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { checkEmitted, importSpecifiers } from "../../scripts/build-package.ts";

describe("build-package", () => {
  const root = mkdtempSync(join(tmpdir(), "kog-build-check-"));
  after(() => rmSync(root, { recursive: true, force: true }));

  function tree(name: string, files: Record<string, string>): string {
    const dir = join(root, name);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return dir;
  }

  it("finds static, re-exported, side-effect and literal dynamic imports", () => {
    const code = [
      'import { a } from "./a.js";',
      "import {",
      "  b,",
      "  c,",
      '} from "../b.js";',
      'export * from "./c.js";',
      'export { d } from "./d.js";',
      'import "./side-effect.js";',
      'const e = await import("./e.js");',
      "const f = await import(computed);",
      'const text = "import x from \\"nowhere\\"";',
      'import { readFileSync } from "node:fs";',
    ].join("\n");
    assert.deepEqual(importSpecifiers(code).sort(), [
      "../b.js",
      "./a.js",
      "./c.js",
      "./d.js",
      "./e.js",
      "./side-effect.js",
      "node:fs",
    ]);
  });

  it("accepts a tree where every module is emitted and every relative import names an emitted .js file", () => {
    const source = tree("ok-src", { "cli/main.ts": "", "lib/x.ts": "" });
    const dist = tree("ok-dist", {
      "cli/main.js": 'import { x } from "../lib/x.js";\nimport { readFileSync } from "node:fs";\n',
      "lib/x.js": "export const x = 1;\n",
    });
    assert.deepEqual(checkEmitted(source, dist), []);
  });

  it("names a missing module, a .ts specifier, an import leaving dist/ and a stray file", () => {
    const source = tree("bad-src", { "cli/main.ts": "", "lib/x.ts": "", "lib/y.ts": "" });
    const dist = tree("bad-dist", {
      "cli/main.js": [
        'import { x } from "../lib/x.ts";',
        'import { bed } from "../../testbed/bed.js";',
        'const demo = await import("../nowhere.js");',
      ].join("\n"),
      "lib/x.js": "",
      "lib/x.js.map": "{}",
    });
    assert.deepEqual(checkEmitted(source, dist).sort(), [
      'dist/cli/main.js: import of "../../testbed/bed.js" names no emitted file',
      'dist/cli/main.js: import of "../lib/x.ts" does not end in .js',
      'dist/cli/main.js: import of "../nowhere.js" names no emitted file',
      "dist/lib/x.js.map: unexpected file in the output",
      "src/lib/y.ts was not emitted",
    ]);
  });
});
