import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { docsLink } from "../../../src/docs/links.ts";
import { lintSources } from "../../../src/lint/lint.ts";
import { formatText } from "../../../src/lint/output/text.ts";
import { brokenPolicies, report } from "./fixture.ts";

describe("text output", () => {
  const text = formatText(report);

  it("groups findings by file with file:line:col severity rule object: message, then source, fix and docs", () => {
    const lines = text.split("\n");
    assert.equal(lines[0], brokenPolicies[0]);
    assert.match(
      lines[1] ?? "",
      new RegExp(
        `^  ${brokenPolicies[0]}:34:15 error netpol-service-port CiliumNetworkPolicy headlamp/headlamp: egress port 443 `,
      ),
    );
    assert.equal(lines[2], "      source: headlamp/templates/networkpolicy.yaml");
    assert.equal(lines[3], "      fix: Allow port 8443 (the pod's port) instead of 443.");
    assert.equal(lines[4], `      docs: ${docsLink("lint", "netpol-service-port")}`);
  });

  it("ends with a summary line of counts, files and objects", () => {
    assert.match(text, /\n2 errors, 0 warnings, 0 infos in 3 files \(8 objects\)\n$/);
    assert.equal(
      formatText(lintSources([{ file: "a.yaml", text: "kind: ConfigMap\n" }])),
      "No findings: 0 errors, 0 warnings, 0 infos in 1 file (1 object)\n",
    );
  });
});
