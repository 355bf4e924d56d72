import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import {
  chartManagedSettings,
  chartSchema,
  chartSchemaPath,
  configSchema,
  durationPattern,
} from "../../scripts/generate-chart-schema.ts";
import { chartManaged } from "../../scripts/generate-docs.ts";
import { parseDuration } from "../../src/config/flags.ts";
import { serveFlags } from "../../src/config/serve-flags.ts";

describe("values.schema.json", () => {
  it("matches the flag table and the chart's values (run npm run docs)", async () => {
    assert.equal(await readFile(chartSchemaPath, "utf8"), chartSchema());
  });

  it("has a config property for every serve setting the chart leaves to the user, and no other", () => {
    const schema = configSchema() as { additionalProperties: boolean; properties: Record<string, { type: unknown }> };
    assert.equal(schema.additionalProperties, false);
    const expected = serveFlags
      .filter((flag) => ![flag.name, ...(flag.aliases ?? [])].some((name) => chartManagedSettings.includes(name)))
      .flatMap((flag) => [flag.name, ...(flag.aliases ?? [])]);
    assert.deepEqual(Object.keys(schema.properties), expected);
    const jsonType = {
      string: "string",
      bool: "boolean",
      int: "integer",
      duration: "string",
      // Lists and maps also as the flag's comma-separated text, which the config file takes.
      list: ["array", "string"],
      map: ["object", "string"],
    };
    for (const flag of serveFlags) {
      const property = schema.properties[flag.name];
      if (property) assert.deepEqual(property.type, jsonType[flag.type], flag.name);
    }
  });

  it("docs/configuration.md's Helm column offers no config.<key> that the chart refuses", () => {
    // config.api-port was offered there while the schema refused it: the column names the value
    // the chart sets such a setting from instead.
    for (const name of chartManagedSettings) {
      assert.ok(chartManaged[name], `${name}: scripts/generate-docs.ts chartManaged names the chart's value`);
    }
  });

  it("accepts exactly the durations serve parses", () => {
    const pattern = new RegExp(durationPattern);
    const defaults = serveFlags.filter((f) => f.type === "duration").map((f) => String(f.default));
    for (const text of [...defaults, "0", "500ms", "1m30s", "1.5h", "12h"]) {
      assert.ok(pattern.test(text), text);
      assert.doesNotThrow(() => parseDuration(text), text);
    }
    for (const text of ["", "10", "10x", "-5s", "10 s", "1d"]) {
      assert.ok(!pattern.test(text), text);
      assert.throws(() => parseDuration(text), text);
    }
  });
});
