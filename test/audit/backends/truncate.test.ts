// The truncate backend in front of a real log backend: what reaches the file, what is dropped
// and logged, and that the delegate's answer comes through.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { LogBackend } from "../../../src/audit/backends/log.ts";
import { RotatingFile } from "../../../src/audit/backends/rotating-file.ts";
import { eventSize, TruncateBackend, truncateAndSplit } from "../../../src/audit/backends/truncate.ts";
import { encodeEvent } from "../../../src/audit/encode.ts";
import { event, recordedLog } from "./fixtures.ts";

const rotation = { maxSizeMb: 0, maxBackups: 0, maxAgeDays: 0 };
const big = (i: number, bytes: number) => event(i, { requestObject: { json: `{"data":"${"r".repeat(bytes)}"}` } });

describe("truncate backend", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "kog-audit-truncate-"));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("an event's size is its encoded bytes plus the encoder's newline (UTF-8 bytes, not characters)", () => {
    const ev = event(1, { userAgent: "日本語" });
    assert.equal(eventSize(ev), Buffer.byteLength(encodeEvent(ev)) + 1);
    assert.equal(eventSize(ev) - eventSize(event(1, { userAgent: "abc" })), 6);
  });

  it("too large: objects removed and annotated; still too large: dropped and logged; the rest written", async () => {
    const path = join(root, "audit.log");
    const { logger, lines } = recordedLog();
    const small = event(1);
    const large = big(2, 5000);
    const hopeless = event(3, { requestURI: `/${"u".repeat(5000)}` });
    const maxEventSize = eventSize(small) + 400;
    const backend = new TruncateBackend(
      new LogBackend(new RotatingFile(path, rotation), "json", logger),
      { enabled: true, maxEventSize, maxBatchSize: maxEventSize * 2 },
      logger,
    );
    assert.equal(String(backend), "truncate<log>");
    assert.equal(backend.processEvents(small, large, hopeless), true);
    await backend.shutdown();
    const written = (await readFile(path, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      written.map((e) => e.auditID),
      [small.auditID, large.auditID],
    );
    assert.equal(written[1].requestObject, undefined);
    assert.equal(written[1].responseObject, undefined);
    assert.deepEqual(written[1].annotations, {
      "audit.k8s.io/truncated": "true",
      "authorization.k8s.io/decision": "allow",
    });
    assert.equal(large.requestObject !== undefined, true, "the caller's event is left as it was");
    const errors = lines.filter((l) => l.level === "error");
    assert.equal(errors.length, 1);
    assert.deepEqual(errors[0]?.auditIDs, [hopeless.auditID]);
  });

  it("batches split so none passes maxBatchSize; a failing delegate makes the call fail", async () => {
    const events = [1, 2, 3, 4, 5].map((i) => big(i, 100));
    const size = eventSize(events[0] as (typeof events)[0]);
    const { batches } = truncateAndSplit(events, { maxEventSize: size, maxBatchSize: size * 2 + 1 });
    assert.deepEqual(
      batches.map((b) => b.length),
      [2, 2, 1],
    );
    const { logger } = recordedLog();
    const failing = new TruncateBackend(
      new LogBackend(new RotatingFile("/dev/full", rotation), "json", logger),
      { enabled: true, maxEventSize: size, maxBatchSize: size * 2 },
      logger,
    );
    assert.equal(failing.processEvents(...events), false);
    await failing.shutdown();
  });
});
