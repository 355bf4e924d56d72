// The Headlamp incident (shared/seeds/headlamp-oidc-incident.md), rebuilt as manifests: the
// fixed set lints clean, and each broken variant — the fixed set with the files of one root
// cause swapped for their state when it broke — yields exactly its rule at the marked lines.
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { expectedMarkers, fixtures, hitsOf, lintFiles } from "./helpers.ts";

const incident = join(fixtures, "incident");
const fixed = join(incident, "fixed");
const fixedFiles = readdirSync(fixed).sort();

/** The fixed set with the files of `cause` in place of their fixed versions. */
function brokenSet(cause: string): { files: string[]; swapped: string[] } {
  const folder = join(incident, "broken", cause);
  const swapped = readdirSync(folder).map((name) => join(folder, name));
  const files = fixedFiles.map((name) => (existsSync(join(folder, name)) ? join(folder, name) : join(fixed, name)));
  return { files, swapped };
}

/** Each root cause and the findings it must produce, in file order. */
const causes: Record<string, string[]> = {
  "netpol-service-port": ["netpol-service-port", "netpol-service-port"],
  "ssl-cert-file-ineffective": ["ssl-cert-file-ineffective"],
  "sa-path-overmount": ["sa-path-overmount"],
  "automount-off-no-api-volume": ["automount-off-no-api-volume"],
  "probe-on-auth-endpoint": ["probe-on-auth-endpoint", "probe-on-auth-endpoint"],
  "ca-bundle-incomplete": ["ca-bundle-incomplete"],
  // Not in the write-up: the wall the next user hits once the proxy works.
  "rbac-subject-prefix": ["rbac-subject-prefix", "rbac-subject-prefix"],
};

describe("the Headlamp incident", () => {
  it("has a broken variant for every listed root cause and nothing else", () => {
    assert.deepEqual(readdirSync(join(incident, "broken")).sort(), Object.keys(causes).sort());
  });

  it("lints the fixed manifests with zero findings", () => {
    const report = lintFiles(fixedFiles.map((name) => join(fixed, name)));
    assert.deepEqual(report.findings, []);
    assert.ok(report.objects >= 15, `read ${report.objects} objects`);
  });

  for (const [cause, ruleIds] of Object.entries(causes)) {
    it(`attributes the broken ${cause} variant to ${[...new Set(ruleIds)].join(", ")} at the marked lines`, () => {
      const { files, swapped } = brokenSet(cause);
      const report = lintFiles(files);
      const expected = swapped.flatMap(expectedMarkers);
      assert.deepEqual(
        expected.map((marker) => marker.split("@")[0]),
        ruleIds,
        "the markers in the fixture name the expected rules",
      );
      assert.deepEqual(hitsOf(report), expected);
      for (const finding of report.findings) {
        assert.ok(swapped.includes(finding.file), `${finding.file} is one of the swapped files`);
        assert.match(finding.source ?? "", /^[\w-]+\/templates\/[\w-]+\.yaml$/, "names the helm template");
      }
    });
  }
});
