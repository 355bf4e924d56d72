// kube-apiserver's untrustedIssuer (k8s.io/apiserver@v0.37.2 oidc.go) decodes `iss` into a
// struct's string field with encoding/json: members in order, names matched exactly or
// case-folded, a null one a no-op, any other type an error. JSON.parse keeps only the last of
// duplicate names, so src/apiserver/jws.ts goStructString scans the text; this checks it
// against that model on generated member lists.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { goStructString, parseToken } from "../../src/apiserver/jws.ts";
import { propertyParameters } from "../helpers/property-seed.ts";

const names = fc.constantFrom("iss", "ISS", "Iss", "\u017fs", "i\u017f\u017f", "is", "issuer", "aud", "x");
const values = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constant(null),
  fc.integer(),
  fc.boolean(),
  fc.constant({ iss: "nested" }),
  fc.constant(["iss"]),
);

/** encoding/json's outcome for the members, in order. */
function model(members: [string, unknown][]): string | undefined {
  let value = "";
  for (const [name, member] of members) {
    const folded = name.replaceAll("\u017f", "s").replaceAll("\u212a", "k").toLowerCase();
    if (name.length !== 3 || folded !== "iss") continue;
    if (member === null) continue;
    if (typeof member !== "string") return undefined;
    value = member;
  }
  return value;
}

describe("untrustedIssuer's struct decode of iss", () => {
  it("agrees with encoding/json's member-by-member decode, duplicates and folds included", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(names, values), { maxLength: 6 }), fc.boolean(), (members, escaped) => {
        const text = `{ ${members
          .map(([name, value]) => {
            const key = escaped
              ? `"${[...name].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")}"`
              : JSON.stringify(name);
            return `${key} : ${JSON.stringify(value)}`;
          })
          .join(" , ")} }`;
        assert.equal(goStructString(text, "iss"), model(members), text);
      }),
      propertyParameters(),
    );
  });

  it('routes on the last non-null iss (regression: a later "iss":null unrouted the token)', () => {
    const payload = Buffer.from('{"iss":"https://issuer.example","sub":"s","iss":null}').toString("base64url");
    assert.equal(parseToken(`e30.${payload}.c2ln`)?.issuer, "https://issuer.example");
    const folded = Buffer.from('{"iss":"https://issuer.example","ISS":null}').toString("base64url");
    assert.equal(parseToken(`e30.${folded}.c2ln`)?.issuer, "https://issuer.example");
  });
});
