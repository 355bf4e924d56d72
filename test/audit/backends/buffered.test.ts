// The batching backend (plugin/pkg/audit/buffered) in front of real delegates: the webhook backend
// posting to a receiver on 127.0.0.1 (each POST shows one batch) and the log backend writing a
// file. Real timers, short waits.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { BufferedBackend, type BufferedOptions } from "../../../src/audit/backends/buffered.ts";
import { LogBackend } from "../../../src/audit/backends/log.ts";
import { RotatingFile } from "../../../src/audit/backends/rotating-file.ts";
import { WebhookBackend } from "../../../src/audit/backends/webhook.ts";
import { event, recordedLog } from "./fixtures.ts";
import { type Receiver, startReceiver, writeWebhookKubeconfig } from "./receiver.ts";

const batch = (overrides: Partial<BufferedOptions> = {}): BufferedOptions => ({
  bufferSize: 100,
  maxBatchSize: 3,
  maxBatchWaitMs: 30_000,
  throttleEnable: false,
  throttleQps: 10,
  throttleBurst: 15,
  asyncDelegate: true,
  ...overrides,
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("buffered backend (--audit-*-mode=batch)", { timeout: 60_000 }, () => {
  let dir: string;
  let receiver: Receiver;
  let configFile: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "kog-audit-buffered-"));
    receiver = await startReceiver();
    configFile = await writeWebhookKubeconfig(join(dir, "webhook.kubeconfig"), receiver.url);
  });
  after(async () => {
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const buffered = (options: Partial<BufferedOptions>) => {
    receiver.received.length = 0;
    receiver.answers = [{ status: 200 }];
    const log = recordedLog();
    const webhook = new WebhookBackend({ configFile, initialBackoffMs: 20, logger: log.logger });
    return { backend: new BufferedBackend(webhook, batch(options), log.logger), lines: log.lines };
  };
  const batchIds = () =>
    receiver.received.map((r) => JSON.parse(r.body).items.map((e: { auditID: string }) => e.auditID.slice(-2)));

  it("full batches go at once, the rest after maxBatchWait", async () => {
    const { backend } = buffered({ maxBatchSize: 3, maxBatchWaitMs: 400 });
    assert.equal(String(backend), "buffered<webhook>");
    backend.run();
    const started = performance.now();
    for (let i = 1; i <= 7; i++) assert.equal(backend.processEvents(event(i)), true);
    await receiver.waitFor(2);
    assert.ok(performance.now() - started < 300, "two full batches without waiting");
    await receiver.waitFor(3);
    assert.ok(performance.now() - started >= 350, "the seventh event waited for maxBatchWait");
    assert.deepEqual(batchIds(), [["01", "02", "03"], ["04", "05", "06"], ["07"]]);
    await backend.shutdown();
  });

  it("processEvents never waits for the delegate", async () => {
    const { backend } = buffered({ maxBatchSize: 1 });
    receiver.answers = [{ status: 200, delayMs: 500 }];
    backend.run();
    const started = performance.now();
    for (let i = 1; i <= 5; i++) backend.processEvents(event(i));
    assert.ok(performance.now() - started < 50);
    await backend.shutdown();
    assert.equal(receiver.received.length, 5);
  });

  it("beyond bufferSize events are dropped: processEvents still answers true, the drop is logged", async () => {
    const { backend, lines } = buffered({ bufferSize: 5, maxBatchSize: 10, maxBatchWaitMs: 100 });
    // Not running yet: nothing drains the buffer (Go's channel fills the same way).
    assert.equal(backend.processEvents(event(1), event(2), event(3)), true);
    assert.equal(backend.processEvents(event(4), event(5), event(6), event(7)), true);
    assert.equal(backend.processEvents(event(8)), true);
    assert.equal(backend.dropped, 3);
    const errors = lines.filter((l) => l.level === "error");
    assert.equal(errors.length, 1, "logged once while it keeps dropping");
    assert.equal(errors[0]?.error, "audit buffer queue blocked");
    backend.run();
    await receiver.waitFor(1);
    assert.deepEqual(batchIds(), [["01", "02", "03", "04", "05"]]);
    await backend.shutdown();
  });

  it("throttle: a token bucket of --audit-*-batch-throttle-qps and -burst spaces the batches", async () => {
    const { backend } = buffered({ maxBatchSize: 1, throttleEnable: true, throttleQps: 5, throttleBurst: 2 });
    backend.run();
    for (let i = 1; i <= 5; i++) backend.processEvents(event(i));
    await receiver.waitFor(5, 5_000);
    const times = receiver.received.map((r) => r.atMs);
    const first = times[0] as number;
    // Two at once (the burst), then one every 200 ms.
    assert.ok((times[1] as number) - first < 100, `${(times[1] as number) - first} ms`);
    assert.ok((times[2] as number) - first >= 150, `${(times[2] as number) - first} ms`);
    assert.ok((times[4] as number) - first >= 550, `${(times[4] as number) - first} ms`);
    await backend.shutdown();
  });

  it("shutdown sends what is buffered, waits for batches in flight, then refuses events", async () => {
    const { backend, lines } = buffered({ maxBatchSize: 2, maxBatchWaitMs: 30_000 });
    receiver.answers = [{ status: 200, delayMs: 300 }];
    backend.run();
    for (let i = 1; i <= 5; i++) backend.processEvents(event(i));
    const started = performance.now();
    await backend.shutdown();
    assert.ok(performance.now() - started >= 250, "waited for the posts");
    assert.deepEqual(batchIds().flat().sort(), ["01", "02", "03", "04", "05"]);
    assert.equal(backend.processEvents(event(6)), false);
    assert.equal(lines.at(-1)?.error, "audit backend shut down");
  });

  it("in front of the log backend (asyncDelegate false): lines written after the call, in order", async () => {
    const path = join(dir, "audit.log");
    const { logger } = recordedLog();
    const backend = new BufferedBackend(
      new LogBackend(new RotatingFile(path, { maxSizeMb: 0, maxBackups: 0, maxAgeDays: 0 }), "json", logger),
      batch({ maxBatchSize: 1, asyncDelegate: false }),
      logger,
    );
    backend.run();
    for (let i = 1; i <= 20; i++) backend.processEvents(event(i));
    assert.equal(readFileSync(path, "utf8"), "", "nothing written in the caller's turn");
    await sleep(50);
    const ids = (await readFile(path, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).auditID.slice(-2));
    assert.deepEqual(
      ids,
      Array.from({ length: 20 }, (_, i) => String(i + 1).padStart(2, "0")),
    );
    await backend.shutdown();
  });
});
