import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { docsPath, parseDocsBaseUrl } from "../../../src/docs/links.ts";
import { stdinName } from "../../../src/lint/inputs.ts";
import { lintSources } from "../../../src/lint/lint.ts";
import { artifactLocation, formatSarif, sourceRootId } from "../../../src/lint/output/sarif.ts";
import { allRules } from "../../../src/lint/rules/index.ts";
import { expectedMarkers } from "../helpers.ts";
import { awkwardFile, brokenPolicies, report } from "./fixture.ts";

interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: string;
  message: { text: string };
  locations: {
    physicalLocation: {
      artifactLocation: { uri: string; uriBaseId?: string };
      region: { startLine: number; startColumn: number };
    };
  }[];
}

const root = process.cwd();

describe("SARIF output", () => {
  const sarif = JSON.parse(formatSarif(report, { cwd: root }));
  const run = sarif.runs[0];
  const results: SarifResult[] = run.results;

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
      assert.match(rule.help.text, new RegExp(`\\(kube-oidc-gateway explain ${rule.id}\\)$`));
      assert.ok(["error", "warning", "note"].includes(rule.defaultConfiguration.level), rule.id);
    }
  });

  it("has no helpUri without --docs-base-url: a file: URL inside the package opens nowhere else", () => {
    for (const rule of run.tool.driver.rules) assert.equal(rule.helpUri, undefined, rule.id);
    assert.doesNotMatch(JSON.stringify(sarif), /node_modules|file:\/\/[^"]*\/docs\//);
  });

  it("carries each rule's page as help.markdown, which code scanning shows, with no link left relative", () => {
    const relativeLink = /\]\((?![a-z][a-z0-9+.-]*:|#)[^)]*\)/i;
    for (const rule of run.tool.driver.rules) {
      const page = readFileSync(docsPath("lint", rule.id), "utf8");
      assert.match(rule.help.markdown, new RegExp(`^# ${rule.id}\\b`));
      assert.equal(rule.help.markdown.split("\n").length, page.split("\n").length, rule.id);
      assert.doesNotMatch(rule.help.markdown, relativeLink, rule.id);
    }
    // A link to another rule's page names the command that prints it.
    const ssl = run.tool.driver.rules.find((r: { id: string }) => r.id === "ssl-cert-file-ineffective");
    assert.match(ssl.help.markdown, /sa-path-overmount \(`kube-oidc-gateway explain sa-path-overmount`\)/);
    // Under a docs base, the same links point at the hosted pages.
    const base = parseDocsBaseUrl("https://docs.example.com/kog/");
    const linked = JSON.parse(formatSarif(report, { cwd: root, docsBaseUrl: base })).runs[0].tool.driver.rules;
    for (const rule of linked) assert.doesNotMatch(rule.help.markdown, relativeLink, rule.id);
    const linkedSsl = linked.find((r: { id: string }) => r.id === "ssl-cert-file-ineffective");
    assert.match(
      linkedSsl.help.markdown,
      /\[sa-path-overmount\]\(https:\/\/docs\.example\.com\/kog\/lint\/sa-path-overmount\.md\)/,
    );
  });

  it("gives every rule an absolute helpUri under --docs-base-url (SARIF 2.1.0 §3.49.12)", () => {
    const base = parseDocsBaseUrl("https://github.com/acme/kube-oidc-gateway/blob/v0.1.0/docs");
    const linked = JSON.parse(formatSarif(report, { cwd: root, docsBaseUrl: base })).runs[0];
    for (const rule of linked.tool.driver.rules) {
      assert.equal(rule.helpUri, `https://github.com/acme/kube-oidc-gateway/blob/v0.1.0/docs/lint/${rule.id}.md`);
      assert.ok(URL.canParse(rule.helpUri) && new URL(rule.helpUri).protocol === "https:", rule.helpUri);
    }
    assert.equal(linked.tool.driver.rules.length, allRules.length);
  });

  it("points each result at its rule and at the fixture's real line, relative to %SRCROOT%", () => {
    const expectedLines = brokenPolicies
      .slice(0, 2)
      .flatMap(expectedMarkers)
      .map((m) => Number(m.split("@")[1]));
    const policies = results.filter((r) => r.ruleId === "netpol-service-port");
    assert.equal(policies.length, 2);
    policies.forEach((result, index) => {
      assert.equal(run.tool.driver.rules[result.ruleIndex].id, result.ruleId);
      assert.equal(result.level, "error");
      const location = result.locations[0]?.physicalLocation;
      assert.deepEqual(location?.artifactLocation, {
        uri: relative(root, brokenPolicies[index] as string),
        uriBaseId: sourceRootId,
      });
      assert.equal(location?.region.startLine, expectedLines[index]);
      assert.equal(location?.region.startColumn, 15);
      assert.match(result.message.text, /port 443 is the port of Service kube-oidc-proxy\/kube-oidc-proxy/);
    });
    assert.deepEqual(run.originalUriBaseIds, { [sourceRootId]: { uri: `${pathToFileURL(root).href}/` } });
  });

  it("percent-encodes each path segment, so '#' stays part of the file name", () => {
    const awkward = results.find((r) => r.locations[0]?.physicalLocation.artifactLocation.uri.startsWith("rendered/"));
    assert.equal(awkward?.level, "note");
    const location = awkward?.locations[0]?.physicalLocation.artifactLocation;
    assert.deepEqual(location, { uri: "rendered/we%23ird%20%3C%26%3E%20file.yaml", uriBaseId: sourceRootId });
    const resolved = new URL(location?.uri ?? "", run.originalUriBaseIds[sourceRootId].uri);
    assert.equal(resolved.hash, "");
    assert.equal(decodeURIComponent(resolved.pathname), `${root}/${awkwardFile}`);
  });

  it("gives a file outside the working directory an absolute file: URI and standard input a relative one", () => {
    assert.deepEqual(artifactLocation("/elsewhere/a#b.yaml", "/work/repo"), { uri: "file:///elsewhere/a%23b.yaml" });
    assert.deepEqual(artifactLocation(stdinName, "/work/repo"), { uri: "%3Cstdin%3E" });
    const fromStdin = JSON.parse(
      formatSarif(lintSources([{ file: stdinName, text: "kind: [" }]), { cwd: "/work/repo" }),
    );
    assert.equal(fromStdin.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri, "%3Cstdin%3E");
  });
});
