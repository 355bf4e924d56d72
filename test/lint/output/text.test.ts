import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDocsBaseUrl } from "../../../src/docs/links.ts";
import { lintSources } from "../../../src/lint/lint.ts";
import { escapeControls, formatText } from "../../../src/lint/output/text.ts";
import { awkwardNameEscaped, brokenPolicies, report } from "./fixture.ts";

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
    assert.equal(lines[4], "      docs: kube-oidc-gateway explain netpol-service-port");
  });

  it("names the explain command, never a file: URL, and adds the page's URL under --docs-base-url", () => {
    assert.doesNotMatch(text, /file:/);
    const docs = text.split("\n").filter((l) => l.startsWith("      docs: "));
    assert.equal(docs.length, report.findings.length);
    for (const line of docs) assert.match(line, /^ {6}docs: kube-oidc-gateway explain [a-z-]+$/);
    const linked = formatText(report, { docsBaseUrl: parseDocsBaseUrl("https://docs.example.com/kog/") });
    assert.ok(
      linked.includes(
        "      docs: kube-oidc-gateway explain netpol-service-port (https://docs.example.com/kog/lint/netpol-service-port.md)",
      ),
    );
  });

  it("escapes control characters and bidi overrides from manifests instead of passing them to the terminal", () => {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
    assert.doesNotMatch(text, /[\u0000-\u0009\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/);
    const line = text.split("\n").find((l) => l.includes("rbac-subject-prefix")) ?? "";
    assert.ok(line.includes(`User subject '${awkwardNameEscaped}'`), line);
    assert.equal(escapeControls("a\u001b[2Jb\u0085c\u2067d\ne"), "a\\x1b[2Jb\\x85c\\u2067d\\ne");
  });

  it("ends with a summary line of counts, files and objects", () => {
    assert.match(text, /\n2 errors, 0 warnings, 1 info in 4 files \(10 objects\)\n$/);
    assert.equal(
      formatText(lintSources([{ file: "a.yaml", text: "apiVersion: v1\nkind: ConfigMap\n" }])),
      "No findings: 0 errors, 0 warnings, 0 infos in 1 file (1 object)\n",
    );
  });
});
