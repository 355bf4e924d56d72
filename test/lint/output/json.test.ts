import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDocsBaseUrl } from "../../../src/docs/links.ts";
import { LintError } from "../../../src/lint/errors.ts";
import { formatJson, formatJsonError } from "../../../src/lint/output/json.ts";
import { awkwardFile, awkwardName, report } from "./fixture.ts";

describe("JSON output", () => {
  it("has the stable shape {version, tool, findings, summary}", () => {
    const document = JSON.parse(formatJson(report));
    assert.deepEqual(Object.keys(document), ["version", "tool", "findings", "summary"]);
    assert.equal(document.version, 1);
    assert.deepEqual(document.summary, { errors: 2, warnings: 0, infos: 1, files: 4, objects: 10 });
    const [first] = document.findings;
    assert.deepEqual(Object.keys(first), [
      "ruleId",
      "severity",
      "file",
      "line",
      "column",
      "source",
      "object",
      "objectRef",
      "message",
      "fix",
      "docs",
    ]);
    assert.equal(first.ruleId, "netpol-service-port");
    assert.equal(first.line, 34);
    assert.equal(first.source, "headlamp/templates/networkpolicy.yaml");
    assert.deepEqual(first.object, {
      apiVersion: "cilium.io/v2",
      kind: "CiliumNetworkPolicy",
      namespace: "headlamp",
      name: "headlamp",
    });
    assert.equal(first.objectRef, "CiliumNetworkPolicy headlamp/headlamp");
    assert.equal(first.docs, "kube-oidc-gateway explain netpol-service-port");
  });

  it("gives docs as the page's URL under --docs-base-url, else the explain command, never a file: URL", () => {
    assert.doesNotMatch(formatJson(report), /file:/);
    const base = parseDocsBaseUrl("https://docs.example.com/kog");
    const document = JSON.parse(formatJson(report, { docsBaseUrl: base }));
    for (const finding of document.findings) {
      assert.equal(finding.docs, `https://docs.example.com/kog/lint/${finding.ruleId}.md`);
    }
  });

  it("prints a usage error as a JSON document with its code", () => {
    const document = JSON.parse(formatJsonError(new LintError("LINT_NO_INPUT", "no input")));
    assert.deepEqual(Object.keys(document), ["version", "tool", "error"]);
    assert.deepEqual(document.error, { code: "LINT_NO_INPUT", message: "no input" });
  });

  it("keeps an awkward message intact: JSON escapes control characters itself", () => {
    const document = JSON.parse(formatJson(report));
    const awkward = document.findings.find((f: { file: string }) => f.file === awkwardFile);
    assert.ok(awkward.message.includes(awkwardName));
  });
});
