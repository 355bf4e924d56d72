// Generated JSON for the properties that hold our JSON readers against a reference: objects whose
// keys are drawn from characters JSON must escape ("\", '"', control characters) and a few plain
// ones, so that escaped keys are common. Node 24.21's JSON.parse misreads some escaped keys
// (nodejs/node#63785); test/apiserver/go-json.test.ts and test/config/lazy-libraries.property.test.ts
// draw from here.
import fc from "fast-check";

const escapedKey = fc.string({
  unit: fc.constantFrom("\\", '"', "h", "b", "n", "\n", "\t", "\u0001", "é", "/"),
  maxLength: 3,
});

/** A JSON object, a few levels deep, with such keys, and "__proto__" among them when asked. */
export function objectWithEscapedKeys(options: { readonly protoKey?: boolean } = {}) {
  const key = options.protoKey ? fc.oneof(escapedKey, fc.constant("__proto__")) : escapedKey;
  return fc.letrec((tie) => ({
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
  })).object;
}
