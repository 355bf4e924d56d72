// The legacy audit line against kube-apiserver's own pkg/audit/format.go EventString (the test
// bed's audit-oracle, k8s.io/apiserver v0.37.2) for generated events: Go's %q quoting of odd
// strings, the placeholders, RFC3339Nano in the local zone (UTC and a zone half an hour off).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { goQuote } from "../../../src/audit/backends/go-quote.ts";
import { eventString } from "../../../src/audit/backends/legacy-format.ts";
import { type AuditOracle, startAuditOracle } from "../../../testbed/audit-oracle.ts";
import { propertyParameters } from "../../helpers/property-seed.ts";
import { auditEvent, oddString, oracleEvent } from "./event-arbitrary.ts";
import { event } from "./fixtures.ts";

async function oracleLine(oracle: AuditOracle, ev: Parameters<typeof oracleEvent>[0]): Promise<string> {
  const answer = await oracle.ask({ op: "legacy", event: oracleEvent(ev) });
  if ("error" in answer) throw new Error(answer.error);
  return answer.line;
}

for (const timeZone of ["UTC", "America/St_Johns"]) {
  describe(`legacy format against kube-apiserver's EventString (TZ=${timeZone})`, () => {
    let oracle: AuditOracle;
    before(async () => {
      process.env.TZ = timeZone;
      oracle = await startAuditOracle({ timeZone });
    });
    after(async () => {
      await oracle?.close();
    });

    it("a fixed event, its placeholders and an impersonated user with no groups", async () => {
      const cases = [
        event(1),
        event(2, { user: {}, sourceIPs: [], objectRef: undefined, responseStatus: undefined }),
        event(3, { impersonatedUser: { username: "bob", groups: [] } }),
        event(4, { impersonatedUser: {}, responseStatus: {}, requestReceivedTimestampUs: 1_765_000_000_000_000 }),
        event(5, { user: { groups: ["g"] }, requestReceivedTimestampUs: 1_765_000_000_100_000 }),
      ];
      for (const ev of cases) {
        process.env.TZ = timeZone;
        assert.equal(eventString(ev), await oracleLine(oracle, ev));
      }
    });

    it("generated events: the same line as Go's", async () => {
      await fc.assert(
        fc.asyncProperty(auditEvent, async (ev) => {
          assert.equal(eventString(ev), await oracleLine(oracle, ev));
        }),
        propertyParameters(timeZone === "UTC" ? 1 : 0.2),
      );
    });

    it("generated strings quoted as Go's %q, in every field the line quotes", async () => {
      await fc.assert(
        fc.asyncProperty(oddString, async (text) => {
          const ev = event(1, { auditID: text, userAgent: text, user: { username: "u", groups: [text, text] } });
          const line = await oracleLine(oracle, ev);
          assert.equal(eventString(ev), line);
          assert.ok(line.includes(`id=${goQuote(text)}`));
        }),
        propertyParameters(timeZone === "UTC" ? 1 : 0.2),
      );
    });
  });
}
