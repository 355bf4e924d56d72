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
import { objectWithEscapedKeys } from "../helpers/json-arbitraries.ts";
import { propertyParameters } from "../helpers/property-seed.ts";

const object = objectWithEscapedKeys();

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

  it("refuses a repeated key wherever the YAML library does, and reads the rest alike", () => {
    // Members written out one by one, so a key may repeat (JSON.stringify never repeats one):
    // JSON.parse would keep the last value, the YAML library refuses, as kube-apiserver's strict
    // decoding does. The outcome must be the library's: the same value, or an error from both.
    const member = fc.tuple(fc.constantFrom("a", "b", "\\", "é"), object);
    const outcome = (read: () => unknown) => {
      try {
        return { value: read() };
      } catch {
        return { refused: true };
      }
    };
    fc.assert(
      fc.property(fc.array(member, { maxLength: 4 }), (members) => {
        const text = `{${members.map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(", ")}}`;
        assert.deepStrictEqual(
          outcome(() => parseYaml(text)),
          outcome(() => yamlParse(text)),
          text,
        );
      }),
      propertyParameters(),
    );
  });
});
