import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseLintConfig } from "../../../src/lint/config.ts";
import { lintSources } from "../../../src/lint/lint.ts";
import { formatJunit } from "../../../src/lint/output/junit.ts";
import { allRules } from "../../../src/lint/rules/index.ts";
import { awkwardFile, report } from "./fixture.ts";
import { parseXml } from "./xml.ts";

describe("JUnit output", () => {
  it("is well-formed XML with one testsuite per rule, findings as failures, clean rules as passing cases", () => {
    const root = parseXml(formatJunit(report));
    assert.equal(root.name, "testsuites");
    assert.equal(root.attributes.failures, "3");
    assert.deepEqual(
      root.children.map((suite) => suite.attributes.name),
      allRules.map((r) => r.id),
    );
    const netpol = root.children.find((s) => s.attributes.name === "netpol-service-port");
    assert.equal(netpol?.attributes.failures, "2");
    const failure = netpol?.children[0]?.children[0];
    assert.equal(failure?.name, "failure");
    assert.equal(failure?.attributes.type, "error");
    assert.match(failure?.text ?? "", /fix: Allow port 8443/);
    const clean = root.children.find((s) => s.attributes.name === "cookie-refresh");
    assert.equal(clean?.attributes.failures, "0");
    assert.equal(clean?.children.length, 1);
    assert.equal(clean?.children[0]?.children.length, 0, "a passing testcase has no failure");
  });

  it("escapes the fixture's awkward message: markup and ']]>' as entities, control characters dropped", () => {
    const xml = formatJunit(report);
    assert.ok(!xml.includes("]]>"), "a raw ']]>' could end a CDATA section a consumer wraps it in");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
    assert.doesNotMatch(xml, /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/);
    const root = parseXml(xml);
    const rbac = root.children.find((s) => s.attributes.name === "rbac-subject-prefix");
    const testcase = rbac?.children[0];
    assert.equal(testcase?.attributes.file, awkwardFile);
    const message = testcase?.children[0]?.attributes.message ?? "";
    assert.ok(message.includes("jane]8;;x<&>]]>\u202e"), message);
    assert.equal(testcase?.children[0]?.attributes.type, "info");
  });

  it("escapes what XML cannot hold raw and marks rules turned off as skipped", () => {
    const text = `apiVersion: v1
kind: ConfigMap
metadata: {name: "a<b>&'\\"c\\u0001d", annotations: {lint.kube-oidc-gateway.io/disable: "x<&>y"}}
`;
    const xml = formatJunit(
      lintSources([{ file: "a&b.yaml", text }], parseLintConfig("rules: {cookie-refresh: off}", "c")),
    );
    const root = parseXml(xml);
    const unknown = root.children.find((s) => s.attributes.name === "unknown-rule");
    const testcase = unknown?.children[0];
    assert.equal(testcase?.attributes.file, "a&b.yaml");
    assert.match(testcase?.attributes.name ?? "", /ConfigMap a<b>&'"cd$/, "the control character is dropped");
    assert.match(testcase?.children[0]?.attributes.message ?? "", /"x<&>y"/);
    const off = root.children.find((s) => s.attributes.name === "cookie-refresh");
    assert.equal(off?.attributes.skipped, "1");
    assert.equal(off?.children[0]?.children[0]?.name, "skipped");
  });
});
