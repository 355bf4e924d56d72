// Truncation and batch splitting against kube-apiserver's own truncate backend (the test bed's
// audit-oracle: plugin/pkg/audit/truncate of k8s.io/apiserver v0.37.2 over a recording delegate)
// for generated events and limits drawn around the events' own sizes, so that every boundary
// (an event exactly maxEventSize, one byte over, a batch exactly full) is met.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { eventSize, truncateAndSplit } from "../../../src/audit/backends/truncate.ts";
import { encodeEvent } from "../../../src/audit/encode.ts";
import type { AuditEvent } from "../../../src/audit/types.ts";
import { type AuditOracle, startAuditOracle } from "../../../testbed/audit-oracle.ts";
import { propertyParameters } from "../../helpers/property-seed.ts";
import { auditEvent, oracleEvent } from "./event-arbitrary.ts";
import { event } from "./fixtures.ts";

async function compare(
  oracle: AuditOracle,
  events: AuditEvent[],
  config: { maxEventSize: number; maxBatchSize: number },
) {
  const answer = await oracle.ask({ op: "truncate", config, events: events.map(oracleEvent) });
  if ("error" in answer) throw new Error(answer.error);
  const ours = truncateAndSplit(events, config).batches.map((batch) =>
    batch.map((e) => JSON.parse(encodeEvent(e)) as unknown),
  );
  assert.deepEqual(ours, answer.batches, JSON.stringify(config));
}

describe("truncate backend against kube-apiserver's", () => {
  let oracle: AuditOracle;
  before(async () => {
    oracle = await startAuditOracle();
  });
  after(async () => {
    await oracle?.close();
  });

  it("the sizes Go measures: an event of exactly maxEventSize passes whole, one byte less truncates it", async () => {
    const ev = event(1, { responseObject: { json: `{"data":"${"x".repeat(3000)}"}` } });
    const size = eventSize(ev);
    await compare(oracle, [ev], { maxEventSize: size, maxBatchSize: size });
    await compare(oracle, [ev], { maxEventSize: size - 1, maxBatchSize: size });
    const [batch] = truncateAndSplit([ev], { maxEventSize: size - 1, maxBatchSize: size }).batches;
    assert.equal(batch?.[0]?.responseObject, undefined);
    assert.equal(batch?.[0]?.annotations?.["audit.k8s.io/truncated"], "true");
    // Metadata level is never truncated, only dropped.
    const metadata = { ...ev, level: "Metadata" as const };
    await compare(oracle, [metadata], { maxEventSize: eventSize(metadata) - 1, maxBatchSize: size });
    assert.equal(
      truncateAndSplit([metadata], { maxEventSize: eventSize(metadata) - 1, maxBatchSize: size }).dropped.length,
      1,
    );
  });

  it("form feed and backspace are sized as Go 1.26 writes them (\\f, \\b)", async () => {
    const ev = event(1, { userAgent: "a\fb\bc", responseObject: { json: `{"data":"${"x".repeat(1000)}"}` } });
    const size = eventSize(ev);
    await compare(oracle, [ev], { maxEventSize: size - 8, maxBatchSize: size });
  });

  it("generated events and limits: the same batches, truncated and dropped alike", async () => {
    const arbitrary = fc.array(auditEvent, { minLength: 1, maxLength: 8 }).chain((events) => {
      const sizes = events.map(eventSize);
      return fc.record({
        events: fc.constant(events),
        maxEventSize: fc.oneof(
          fc.constantFrom(...sizes).chain((s) => fc.integer({ min: Math.max(1, s - 2), max: s + 2 })),
          fc.integer({ min: 1, max: Math.max(...sizes) * 2 }),
        ),
        factor: fc.oneof(fc.constant(1), fc.double({ min: 1, max: 4, noNaN: true })),
        extra: fc.integer({ min: 0, max: 3 }),
      });
    });
    await fc.assert(
      fc.asyncProperty(arbitrary, async ({ events, maxEventSize, factor, extra }) => {
        // Go's validation: maxBatchSize ≥ maxEventSize.
        await compare(oracle, events, { maxEventSize, maxBatchSize: Math.floor(maxEventSize * factor) + extra });
      }),
      propertyParameters(0.4),
    );
  });
});
