import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { docsPath } from "../../src/docs/links.ts";
import { checks } from "../../src/doctor/checks/index.ts";

describe("doctor check documentation", () => {
  for (const check of checks) {
    it(`docs/doctor/${check.id}.md exists, names the check and shows how to fix it`, () => {
      const path = docsPath("doctor", check.id);
      assert.ok(existsSync(path), `${path} is missing`);
      const page = readFileSync(path, "utf8");
      assert.match(page, new RegExp(`^# ${check.id}\\b`, "m"));
      assert.match(page, /^## How to fix/m);
      assert.match(page, new RegExp(`(FAIL|WARN) {2}${check.id}: `), "an example of the output");
    });
  }

  it("the index lists every check in run order", () => {
    const index = readFileSync(docsPath("doctor", "README"), "utf8");
    const positions = checks.map((c) => index.indexOf(`[${c.id}](${c.id}.md)`));
    assert.ok(
      positions.every((p) => p >= 0),
      `missing: ${checks.filter((_, i) => (positions[i] ?? -1) < 0).map((c) => c.id)}`,
    );
    assert.deepEqual(
      [...positions].sort((a, b) => a - b),
      positions,
    );
  });
});
