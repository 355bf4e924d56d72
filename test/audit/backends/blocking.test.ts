// --audit-*-mode (pkg/server/options/audit.go wrapBackend) over a real log backend: "blocking"
// hides a failed write from the request, "blocking-strict" passes it on, "batch" buffers.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { wrapBackend } from "../../../src/audit/backends/blocking.ts";
import { LogBackend } from "../../../src/audit/backends/log.ts";
import { RotatingFile } from "../../../src/audit/backends/rotating-file.ts";
import type { BatchConfig } from "../../../src/audit/types.ts";
import { event, recordedLog } from "./fixtures.ts";

const noRotation = { maxSizeMb: 0, maxBackups: 0, maxAgeDays: 0 };
const batch: BatchConfig = {
  bufferSize: 10,
  maxBatchSize: 1,
  maxBatchWaitMs: 0,
  throttleEnable: false,
  throttleQps: 0,
  throttleBurst: 0,
};

describe("backend modes", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "kog-audit-modes-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const full = () => {
    const { logger } = recordedLog();
    return { delegate: new LogBackend(new RotatingFile("/dev/full", noRotation), "json", logger), logger };
  };

  it('"blocking": written in the call; a failed write still answers true (ignoreErrorsBackend)', async () => {
    const path = join(dir, "blocking.log");
    const { logger, lines } = recordedLog();
    const ok = wrapBackend(
      new LogBackend(new RotatingFile(path, noRotation), "json", logger),
      "blocking",
      batch,
      false,
      logger,
    );
    assert.equal(String(ok), "ignoreErrors<log>");
    assert.equal(ok.processEvents(event(1)), true);
    assert.notEqual(await readFile(path, "utf8"), "", "written before processEvents returned");
    const { delegate } = full();
    const failing = wrapBackend(delegate, "blocking", batch, false, logger);
    assert.equal(delegate.processEvents(event(2)), false, "the log itself fails");
    assert.equal(failing.processEvents(event(2)), true);
    assert.equal(lines.length, 0);
    await ok.shutdown();
  });

  it('"blocking-strict": the delegate as it is, so a failed write fails the call', () => {
    const { delegate, logger } = full();
    const strict = wrapBackend(delegate, "blocking-strict", batch, false, logger);
    assert.equal(strict, delegate);
    assert.equal(strict.processEvents(event(1)), false);
  });

  it('"batch": the buffered backend, which answers true at once', async () => {
    const { delegate, logger } = full();
    const batched = wrapBackend(delegate, "batch", batch, false, logger);
    assert.equal(String(batched), "buffered<log>");
    batched.run();
    assert.equal(batched.processEvents(event(1)), true);
    await batched.shutdown();
  });
});
