// parseYaml (src/config/lazy-libraries.ts) reads JSON with JSON.parse and everything else with the
// YAML library. The property: on any JSON text, parseYaml's value is the YAML library's (the
// reference it stands in for). Keys are drawn from characters JSON must escape, because Node
// 24.21's JSON.parse decodes some escaped keys wrongly once an earlier parse has seen the key "\\"
// (nodejs/node#63785, V8 crbug 521080746): each case parses that key first, as another part of the
// process may have.
//
// Replay: KOG_PROPERTY_SEED=<seed printed at the top> node scripts/run-tests.ts test/config/lazy-libraries.property.test.ts
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parse as yamlParse } from "yaml";
import { parseYaml } from "../../src/config/lazy-libraries.ts";
import { propertyParameters } from "../helpers/property-seed.ts";

const key = fc.string({
  unit: fc.constantFrom("\\", '"', "h", "b", "n", "\n", "\t", "\u0001", "é", "/"),
  maxLength: 3,
});
const { object } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.integer(),
    fc.string({ maxLength: 4 }),
    fc.boolean(),
    fc.constant(null),
    tie("array"),
    tie("object"),
  ),
  array: fc.array(tie("value"), { maxLength: 3 }),
  object: fc.dictionary(key, tie("value"), { maxKeys: 4 }),
}));

describe("parseYaml against the YAML library", () => {
  it("reads every JSON object as the YAML library does, escaped keys included", () => {
    fc.assert(
      fc.property(object, fc.constantFrom(undefined, 2), (value, indent) => {
        JSON.parse('{"h":[],"\\\\":0}'); // the key "\", which poisons V8's key cache
        const text = JSON.stringify(value, null, indent);
        assert.deepStrictEqual(parseYaml(text), yamlParse(text));
      }),
      propertyParameters(),
    );
  });
});
