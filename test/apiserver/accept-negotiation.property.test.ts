// Generated differential: whether kube-apiserver can write an error in a media type the Accept
// header allows, as the gateway decides it (src/apiserver/accept-negotiation.ts, which picks
// what a failed authentication's audit event says) and as k8s.io/apiserver@v0.37.2
// negotiation.NegotiateOutputMediaType decides it (the bed's audit oracle).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { outputNegotiable } from "../../src/apiserver/accept-negotiation.ts";
import { type AuditOracle, startAuditOracle } from "../../testbed/audit-oracle.ts";
import { propertyParameters } from "../helpers/property-seed.ts";

const space = fc.constantFrom("", " ", "  ", "\t");
const type = fc.constantFrom("application", "text", "*", "APPLICATION", "", "application/json");
const subType = fc.constantFrom("json", "yaml", "vnd.kubernetes.protobuf", "*", "cbor", "html", "", "json/x");
const param = fc
  .tuple(
    fc.constantFrom("as", "g", "v", "stream", "sv", "pretty", "q", "profile", "export", "x", "", "AS"),
    fc.constantFrom("Table", "watch", "", "1", "v1", "meta.k8s.io", "0", "x=y", "0.5"),
    space,
  )
  .map(([key, value, s]) => `${s}${key}=${value}${s}`);
const clause = fc
  .tuple(type, subType, fc.array(param, { maxLength: 3 }), space, fc.boolean())
  .map(([t, st, params, s, bare]) => `${s}${bare ? t : `${t}/${st}`}${params.map((p) => `;${p}`).join("")}${s}`);
const accept = fc.oneof(
  { weight: 5, arbitrary: fc.array(clause, { minLength: 1, maxLength: 3 }).map((c) => c.join(",")) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
);

describe("outputNegotiable against kube-apiserver's NegotiateOutputMediaType", () => {
  let oracle: AuditOracle;
  before(async () => {
    oracle = await startAuditOracle();
  });
  after(async () => {
    await oracle?.close();
  });

  it("generated Accept headers: the same verdict", async () => {
    let negotiable = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(accept, async (header) => {
        const answer = await oracle.ask({ op: "negotiate", accept: header });
        assert.ok("negotiable" in answer, JSON.stringify(answer));
        assert.equal(outputNegotiable(header), answer.negotiable, JSON.stringify(header));
        runs++;
        if (answer.negotiable) negotiable++;
      }),
      propertyParameters(),
    );
    // Both verdicts must come up often enough for the comparison to mean something.
    assert.ok(negotiable > runs * 0.1 && negotiable < runs * 0.9, `${negotiable} of ${runs} negotiable`);
  });
});
