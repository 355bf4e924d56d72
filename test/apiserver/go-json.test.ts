// go-json.ts's UTF-8 and escape handling against Go's encoding/json (go1.26, the compiler of the
// test bed's kube-apiserver): the tables are json.Unmarshal's own outputs, a string's bytes in hex.
import assert from "node:assert/strict";
import { isUtf8 } from "node:buffer";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parse as yamlParse } from "yaml";
import { goJsonParse, goUtf8Decode, topLevelMembers } from "../../src/apiserver/go-json.ts";
import { objectWithEscapedKeys } from "../helpers/json-arbitraries.ts";
import { propertyParameters } from "../helpers/property-seed.ts";

// [bytes inside a JSON string, what json.Unmarshal into a string gives], both in hex.
const goStrings: [string, string][] = [
  ["e28241", "efbfbdefbfbd41"],
  ["f09f98", "efbfbdefbfbdefbfbd"],
  ["f09f", "efbfbdefbfbd"],
  ["eda080", "efbfbdefbfbdefbfbd"],
  ["edbfbf", "efbfbdefbfbdefbfbd"],
  ["c0af", "efbfbdefbfbd"],
  ["e080af", "efbfbdefbfbdefbfbd"],
  ["f4908080", "efbfbdefbfbdefbfbdefbfbd"],
  ["f888808080", "efbfbdefbfbdefbfbdefbfbdefbfbd"],
  ["c2", "efbfbd"],
  ["efbfbd", "efbfbd"],
  ["ff", "efbfbd"],
  ["80", "efbfbd"],
  ["61e282ac62", "61e282ac62"],
  ["f09f9880", "f09f9880"],
  ["e2", "efbfbd"],
  ["ed9fbf", "ed9fbf"],
  ["ee8080", "ee8080"],
  ["f0908080", "f0908080"],
  ["f48fbfbf", "f48fbfbf"],
  ["c1bf", "efbfbdefbfbd"],
  ["c280", "c280"],
];

// [a JSON string literal with escapes, what json.Unmarshal gives].
const goEscapes: [string, string][] = [
  ['"\\ud800"', "efbfbd"],
  ['"\\udc00"', "efbfbd"],
  ['"\\ud800\\u0041"', "efbfbd41"],
  ['"\\ud800\\ud800\\udc00"', "efbfbdf0908080"],
  ['"\\ud83d\\ude00"', "f09f9880"],
  ['"a\\udbffb"', "61efbfbd62"],
  ['"\\\\ud800"', "5c7564383030"],
];

/** Go's utf8.DecodeRune, written the other way round: the shortest valid prefix, else one byte. */
function referenceDecode(bytes: Buffer): string {
  let text = "";
  for (let i = 0; i < bytes.length; ) {
    const size = [1, 2, 3, 4].find((n) => i + n <= bytes.length && isUtf8(bytes.subarray(i, i + n)));
    text += size ? bytes.toString("utf8", i, i + size) : "\ufffd";
    i += size ?? 1;
  }
  return text;
}

describe("go-json: UTF-8 as encoding/json decodes it", () => {
  for (const [inside, want] of goStrings) {
    it(`"${inside}" decodes to ${want}`, () => {
      const bytes = Buffer.concat([Buffer.from('{"s":"'), Buffer.from(inside, "hex"), Buffer.from('"}')]);
      const parsed = goJsonParse(goUtf8Decode(bytes)) as { s: string };
      assert.equal(Buffer.from(parsed.s).toString("hex"), want);
    });
  }
  for (const [literal, want] of goEscapes) {
    it(`${literal} decodes to ${want}`, () => {
      const parsed = goJsonParse(`{"s":${literal},${literal}:1,"a":[${literal}]}`) as Record<string, unknown>;
      assert.equal(Buffer.from(parsed.s as string).toString("hex"), want);
      assert.equal(Buffer.from((parsed.a as string[])[0] ?? "").toString("hex"), want);
      assert.ok(
        Object.keys(parsed).some((key) => Buffer.from(key).toString("hex") === want),
        "the key too",
      );
    });
  }

  it("replaces lone surrogates in a __proto__ object without touching prototypes", () => {
    const parsed = goJsonParse('{"__proto__":{"x":"\\ud800"}}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(parsed, "__proto__")?.value, { x: "\ufffd" });
  });

  it("agrees with the reference decoder on any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (array) => {
        const bytes = Buffer.from(array);
        assert.equal(goUtf8Decode(bytes), referenceDecode(bytes));
      }),
      propertyParameters(),
    );
  });

  it("is Buffer's decoder on valid UTF-8", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        const bytes = Buffer.from(text);
        assert.equal(goUtf8Decode(bytes), bytes.toString("utf8"));
      }),
      propertyParameters(),
    );
  });
});

describe("go-json: top-level members in document order", () => {
  it("keeps every member, duplicates and case-folded names included, with each value's text", () => {
    const text =
      '{"exp":1,"EXP":2,"exp":3, "a":{"exp":[4,"}"]}, "\\u0045xp" : 9223372036854775807 ,"s":"\\"}","iss":null}';
    const members = topLevelMembers(text);
    assert.deepEqual(
      members?.map((m) => [m.name, m.text]),
      [
        ["exp", "1"],
        ["EXP", "2"],
        ["exp", "3"],
        ["a", '{"exp":[4,"}"]}'],
        ["Exp", "9223372036854775807"],
        ["s", '"\\"}"'],
        ["iss", "null"],
      ],
    );
    assert.equal(members?.[6]?.value, null);
    assert.equal(topLevelMembers("[1]"), undefined);
  });

  it("finds the same members as JSON.parse when no name repeats", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })), (object) => {
        const text = JSON.stringify(object, null, 1);
        const members = topLevelMembers(text) ?? [];
        assert.deepEqual(
          members.map((m) => m.name),
          Object.keys(JSON.parse(text)),
        );
        assert.deepEqual(Object.fromEntries(members.map((m) => [m.name, m.value])), JSON.parse(text));
      }),
      propertyParameters(),
    );
  });
});

describe("go-json: escaped object keys, whatever JSON.parse saw before (nodejs/node#63785)", () => {
  // Node 24.21's JSON.parse reads some escaped keys as "\" once an earlier parse saw that key; a
  // token header is parsed before its signature is checked, so a client can poison the cache.
  const poison = () => JSON.parse('{"h":[],"\\\\":0}');

  it("decodes an escaped key as encoding/json does after a header with the key \\ (regression: read as \\)", () => {
    poison();
    assert.deepEqual(goJsonParse('{"a":{"\\u0062":2}}'), { a: { b: 2 } });
    poison();
    assert.deepEqual(Object.keys(goJsonParse('{"h":1,"\\"":2}') as object), ["h", '"']);
  });

  it("reads 10,000 levels of objects with escaped keys, as encoding/json takes them (regression: a recursive reader overflowed the stack)", () => {
    const depth = 10_000;
    const text = `${'{"\\u0061":'.repeat(depth)}[1,{"\\u0062":[]},{}]${"}".repeat(depth)}`;
    let value = goJsonParse(text);
    for (let level = 0; level < depth; level++) value = (value as { a: unknown }).a;
    assert.deepEqual(value, [1, { b: [] }, {}]);
  });

  it("agrees with the YAML library's reading of any JSON object with escaped keys", () => {
    const object = objectWithEscapedKeys({ protoKey: true });
    fc.assert(
      fc.property(object, fc.constantFrom(undefined, 1), (value, indent) => {
        poison();
        const text = JSON.stringify(value, null, indent);
        assert.deepStrictEqual(goJsonParse(text), yamlParse(text));
      }),
      propertyParameters(),
    );
  });
});
