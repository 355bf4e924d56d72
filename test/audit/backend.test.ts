// createAuditBackend: the backends composed from the --audit-* flags as kube-apiserver's ApplyTo
// composes them, tested through the file and the webhook receiver they write to.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createAuditBackend } from "../../src/audit/backend.ts";
import { eventSize } from "../../src/audit/backends/truncate.ts";
import { encodeEventList } from "../../src/audit/encode.ts";
import type { AuditConfig } from "../../src/audit/types.ts";
import { ConfigError } from "../../src/config/errors.ts";
import { event, recordedLog } from "./backends/fixtures.ts";
import { type Receiver, startReceiver, writeWebhookKubeconfig } from "./backends/receiver.ts";

const batch = {
  bufferSize: 10_000,
  maxBatchSize: 400,
  maxBatchWaitMs: 30_000,
  throttleEnable: true,
  throttleQps: 10,
  throttleBurst: 15,
};
const noTruncate = { enabled: false, maxEventSize: 102_400, maxBatchSize: 10_485_760 };

/** kube-apiserver's defaults (NewAuditOptions), with a policy file and the given changes. */
function config(changes: {
  log?: Partial<AuditConfig["log"]>;
  webhook?: Partial<AuditConfig["webhook"]>;
}): AuditConfig {
  return {
    requested: true,
    policyFile: "/etc/audit/policy.yaml",
    log: {
      path: "",
      format: "json",
      maxSizeMb: 100,
      maxBackups: 100,
      maxAgeDays: 366,
      mode: "blocking",
      batch: { ...batch, maxBatchSize: 1, throttleEnable: false },
      truncate: noTruncate,
      groupVersion: "audit.k8s.io/v1",
      ...changes.log,
    },
    webhook: {
      configFile: "",
      initialBackoffMs: 10_000,
      mode: "batch",
      batch,
      truncate: noTruncate,
      groupVersion: "audit.k8s.io/v1",
      ...changes.webhook,
    },
  };
}

describe("createAuditBackend", { timeout: 60_000 }, () => {
  let dir: string;
  let receiver: Receiver;
  let configFile: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "kog-audit-backend-"));
    receiver = await startReceiver();
    configFile = await writeWebhookKubeconfig(join(dir, "webhook.kubeconfig"), receiver.url);
  });
  after(async () => {
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("no policy file, or no log path and no webhook: no backend (kube-apiserver records nothing)", () => {
    const { logger } = recordedLog();
    assert.equal(
      createAuditBackend({ ...config({ log: { path: join(dir, "x.log") } }), policyFile: "" }, logger),
      undefined,
    );
    assert.equal(createAuditBackend(config({}), logger), undefined);
  });

  it("log and webhook: union[log in its mode, then truncate; webhook in its mode, then truncate]", async () => {
    const { logger } = recordedLog();
    const path = join(dir, "audit.log");
    const backend = createAuditBackend(
      config({
        log: { path, truncate: { ...noTruncate, enabled: true } },
        webhook: { configFile, mode: "blocking-strict", truncate: { ...noTruncate, enabled: true } },
      }),
      logger,
    );
    assert.equal(String(backend), "union[truncate<ignoreErrors<log>>,truncate<webhook>]");
    const defaults = createAuditBackend(config({ log: { path }, webhook: { configFile } }), logger);
    assert.equal(String(defaults), "union[ignoreErrors<log>,buffered<webhook>]");
    await backend?.shutdown();
    await defaults?.shutdown();
  });

  it("events reach the file and the webhook; truncation as configured for each", async () => {
    receiver.received.length = 0;
    const { logger } = recordedLog();
    const path = join(dir, "both.log");
    const ev = event(1, { requestObject: { json: `{"data":"${"x".repeat(2000)}"}` } });
    const maxEventSize = eventSize(ev) - 1;
    const backend = createAuditBackend(
      config({
        log: { path, format: "json", truncate: { enabled: true, maxEventSize, maxBatchSize: maxEventSize } },
        webhook: { configFile, batch: { ...batch, maxBatchWaitMs: 100 } },
      }),
      logger,
    );
    backend?.run();
    assert.equal(backend?.processEvents(ev), true);
    await backend?.shutdown();
    const line = JSON.parse(await readFile(path, "utf8"));
    assert.equal(line.requestObject, undefined, "the log truncated it");
    assert.equal(line.annotations["audit.k8s.io/truncated"], "true");
    assert.equal(receiver.received.length, 1);
    assert.equal(receiver.received[0]?.body, encodeEventList([ev]), "whole");
  });

  it("a log path that cannot be created is a ConfigError naming --audit-log-path", async () => {
    const notAFolder = join(dir, "file");
    await writeFile(notAFolder, "");
    const path = join(notAFolder, "audit.log");
    assert.throws(
      () => createAuditBackend(config({ log: { path } }), recordedLog().logger),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.code === "AUDIT_LOG_UNWRITABLE" &&
        error.message.includes(`--audit-log-path ${path}`),
    );
  });
});
