import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { docsPath } from "../../src/docs/links.ts";
import { allRules } from "../../src/lint/rules/index.ts";

describe("lint rule documentation", () => {
  for (const rule of allRules) {
    it(`docs/lint/${rule.id}.md exists and explains how to disable the rule`, () => {
      const path = docsPath("lint", rule.id);
      assert.ok(existsSync(path), `${path} is missing`);
      const page = readFileSync(path, "utf8");
      assert.match(page, new RegExp(`^# ${rule.id}\\b`, "m"));
      assert.match(page, new RegExp(`lint\\.kube-oidc-gateway\\.io/disable: "?${rule.id}`));
    });
  }

  it("the index lists every rule", () => {
    const index = readFileSync(docsPath("lint", "README"), "utf8");
    for (const rule of allRules) assert.match(index, new RegExp(`\\[${rule.id}\\]\\(${rule.id}\\.md\\)`), rule.id);
  });
});
