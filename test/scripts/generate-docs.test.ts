import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { it } from "node:test";
import { chartManaged, configurationReference, generatedDocs, metricsReference } from "../../scripts/generate-docs.ts";
import { lintFlags } from "../../src/cli/commands/lint.ts";
import { envName } from "../../src/config/flags.ts";
import { serveFlags } from "../../src/config/serve-flags.ts";
import { createMetrics } from "../../src/observability/metrics.ts";

for (const doc of generatedDocs) {
  it(`docs/${basename(doc.path)} matches the code it is generated from (run npm run docs)`, async () => {
    assert.equal(await readFile(doc.path, "utf8"), doc.render());
  });
}

it("the configuration reference names every serve setting's flag, variable, file key and Helm value", () => {
  const text = configurationReference();
  const serveSection = text.slice(text.indexOf("\n## `serve`\n"), text.indexOf("\n## `token`\n"));
  for (const flag of serveFlags) {
    const row = serveSection.split("\n").find((line) => line.startsWith(`| \`--${flag.name}\``));
    assert.ok(row, `no row for --${flag.name}`);
    assert.ok(row.includes(`\`${envName(flag.name)}\``), `--${flag.name}: environment variable`);
    const helm = chartManaged[flag.name] ?? `\`config.${flag.name}\``;
    assert.ok(row.includes(helm), `--${flag.name}: Helm value ${helm}`);
  }
  for (const flag of lintFlags) assert.ok(text.includes(`| \`--${flag.name}\``), `lint --${flag.name}`);
});

it("the metrics reference names every metric", () => {
  const text = metricsReference();
  const metrics = createMetrics();
  for (const [key, metric] of Object.entries(metrics)) {
    if (key === "render" || typeof metric === "function") continue;
    assert.ok(text.includes(`### \`${metric.name}\``), metric.name);
  }
});

it("the old generated flag page is gone (docs/configuration.md replaces it)", () => {
  assert.equal(existsSync(join(import.meta.dirname, "..", "..", "docs", "serve-flags.md")), false);
});
