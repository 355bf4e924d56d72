import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatSarif } from "../../../src/lint/output/sarif.ts";
import { allRules } from "../../../src/lint/rules/index.ts";
import { expectedMarkers } from "../helpers.ts";
import { brokenPolicies, report } from "./fixture.ts";

interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: string;
  message: { text: string };
  locations: {
    physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number; startColumn: number } };
  }[];
}

describe("SARIF output", () => {
  const sarif = JSON.parse(formatSarif(report));
  const run = sarif.runs[0];

  it("is SARIF 2.1.0 with every rule described in tool.driver.rules", () => {
    assert.equal(sarif.version, "2.1.0");
    assert.match(sarif.$schema, /sarif-2\.1\.0/);
    assert.equal(sarif.runs.length, 1);
    assert.deepEqual(
      run.tool.driver.rules.map((r: { id: string }) => r.id),
      allRules.map((r) => r.id),
    );
    for (const rule of run.tool.driver.rules) {
      assert.ok(rule.shortDescription.text && rule.fullDescription.text && rule.help.text, rule.id);
      assert.match(rule.helpUri, new RegExp(`/docs/lint/${rule.id}\\.md$`));
      assert.ok(["error", "warning", "note"].includes(rule.defaultConfiguration.level), rule.id);
    }
  });

  it("points each result at its rule and at the fixture's real line", () => {
    const expectedLines = brokenPolicies
      .slice(0, 2)
      .flatMap(expectedMarkers)
      .map((m) => Number(m.split("@")[1]));
    assert.equal(run.results.length, 2);
    run.results.forEach((result: SarifResult, index: number) => {
      assert.equal(run.tool.driver.rules[result.ruleIndex].id, result.ruleId);
      assert.equal(result.level, "error");
      const location = result.locations[0]?.physicalLocation;
      assert.equal(location?.artifactLocation.uri, brokenPolicies[index]);
      assert.equal(location?.region.startLine, expectedLines[index]);
      assert.equal(location?.region.startColumn, 15);
      assert.match(result.message.text, /port 443 is the port of Service kube-oidc-proxy\/kube-oidc-proxy/);
    });
  });
});
