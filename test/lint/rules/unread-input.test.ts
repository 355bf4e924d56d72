// unread-input: what lint was given but could not check as Kubernetes objects is one error of its
// own rule, apart from yaml-syntax (broken YAML), so a config file can grade one without the other.
// Charts, kustomizations and values files through the CLI: test/lint/inputs.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hitsOf, lintText, lintTextWithConfig, yaml } from "../helpers.ts";

const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.alloc(4000, 0x00),
  Buffer.from("IHDR: x\n: y\n"),
]).toString("utf8");

const valuesLike = yaml("replicaCount: 2", "image:", "  repository: example/app");
const broken = yaml("apiVersion: v1", "kind: ConfigMap", "data: [unclosed");

describe("unread-input", () => {
  // Issue 20: a binary file named directly printed 160 KB of escaped bytes, one error per "line".
  it("says a binary file is not a manifest, in one finding", () => {
    const report = lintText(png);
    assert.deepEqual(hitsOf(report), ["unread-input@1"]);
    assert.equal(report.findings[0]?.severity, "error");
    assert.equal(report.findings[0]?.message, "not a YAML or JSON manifest: a PNG image");
    const elf = `\u007fELF\u0002\u0001\u0001${"\u0000".repeat(100)}`;
    assert.equal(lintText(elf).findings[0]?.message, "not a YAML or JSON manifest: an ELF executable");
  });

  // Issue 20: a document with neither apiVersion nor kind passed as "No findings".
  it("is a rule apart from yaml-syntax: broken YAML and a document that is no object in one run", () => {
    const report = lintText(broken, valuesLike);
    assert.deepEqual(
      report.findings.map((f) => `${f.ruleId} ${f.file}:${f.line}`),
      ["yaml-syntax test-0.yaml:4", "unread-input test-1.yaml:1"],
    );
  });

  // Review of issue 20: a document counted as an object with either apiVersion or kind, so Fluent
  // Bit's values (a top-level `kind: DaemonSet`) gave "No findings (1 object)" and exit 0.
  it("a mapping with kind but no apiVersion, or apiVersion but no kind, is unread-input and says which is missing", () => {
    const kindOnly = yaml("kind: DaemonSet", "image:", "  repository: cr.fluentbit.io/fluent/fluent-bit");
    const versionOnly = yaml("apiVersion: v1", "metadata: {name: a}");
    const report = lintText(kindOnly, versionOnly);
    assert.deepEqual(
      report.findings.map((f) => `${f.ruleId} ${f.severity} ${f.file}:${f.line} ${f.message}`),
      [
        "unread-input error test-0.yaml:1 not a Kubernetes object: a mapping with no apiVersion, so lint checked nothing in it",
        "unread-input error test-1.yaml:1 not a Kubernetes object: a mapping with no kind, so lint checked nothing in it",
      ],
    );
    assert.equal(report.objects, 0);
    // A Keycloak realm export has neither and is still read.
    assert.deepEqual(hitsOf(lintText(yaml("realm: demo", "accessTokenLifespan: 300"))), []);
  });

  it("is graded or turned off by the config file without touching yaml-syntax", () => {
    const graded = lintTextWithConfig("rules:\n  unread-input: warning\n", broken, valuesLike);
    assert.deepEqual(
      graded.findings.map((f) => `${f.ruleId} ${f.severity}`),
      ["yaml-syntax error", "unread-input warning"],
    );
    const off = lintTextWithConfig("rules:\n  unread-input: off\n", broken, valuesLike);
    assert.deepEqual(hitsOf(off), ["yaml-syntax@4"]);
  });
});
