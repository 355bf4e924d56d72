// kube-apiserver's --audit-* flag validation (k8s.io/apiserver@v0.37.2 pkg/server/options/audit.go),
// through the real `serve` configuration loader.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadServeConfig } from "../../src/config/serve-config.ts";

const base = [
  "--oidc-issuer-url=https://issuer.example.com",
  "--oidc-client-id=kubernetes",
  "--tls-cert-file=/tls/crt",
  "--tls-private-key-file=/tls/key",
];
const load = (args: string[]) => {
  const { config } = loadServeConfig([...base, ...args], {});
  assert.ok(config);
  return config.audit;
};

describe("audit flags", () => {
  it("has kube-apiserver's defaults: log blocking, one event per batch; webhook batched and throttled", () => {
    const audit = load([]);
    assert.equal(audit.policyFile, "");
    assert.equal(audit.log.path, "");
    assert.equal(audit.log.mode, "blocking");
    assert.equal(audit.log.format, "json");
    assert.equal(audit.log.batch.maxBatchSize, 1);
    assert.equal(audit.webhook.mode, "batch");
    assert.deepEqual(audit.webhook.batch, {
      bufferSize: 10_000,
      maxBatchSize: 400,
      maxBatchWaitMs: 30_000,
      throttleEnable: true,
      throttleQps: 10,
      throttleBurst: 15,
    });
    assert.equal(audit.webhook.initialBackoffMs, 10_000);
    assert.deepEqual(audit.webhook.truncate, { enabled: false, maxBatchSize: 10_485_760, maxEventSize: 102_400 });
  });

  it("is requested (so serve loads the audit code) by the policy or either backend alone, and not by their options", () => {
    assert.equal(load([]).requested, false);
    assert.equal(load(["--audit-log-maxage=3", "--audit-webhook-mode=blocking"]).requested, false);
    assert.equal(load(["--audit-policy-file=/etc/audit/policy.yaml"]).requested, true);
    assert.equal(load(["--audit-log-path=-"]).requested, true);
    assert.equal(load(["--audit-webhook-config-file=/etc/audit/webhook.kubeconfig"]).requested, true);
  });

  it("takes every backend option with its meaning", () => {
    const audit = load([
      "--audit-policy-file=/etc/kog/policy.yaml",
      "--audit-log-path=-",
      "--audit-log-format=legacy",
      "--audit-log-mode=batch",
      "--audit-log-batch-max-size=50",
      "--audit-log-batch-max-wait=2s",
      "--audit-log-batch-throttle-enable",
      "--audit-log-batch-throttle-qps=2.5",
      "--audit-log-batch-throttle-burst=3",
      "--audit-log-truncate-enabled",
      "--audit-webhook-config-file=/etc/kog/webhook.kubeconfig",
      "--audit-webhook-batch-initial-backoff=3s",
      "--audit-webhook-mode=blocking-strict",
    ]);
    assert.equal(audit.policyFile, "/etc/kog/policy.yaml");
    assert.equal(audit.log.format, "legacy");
    assert.deepEqual(audit.log.batch, {
      bufferSize: 10_000,
      maxBatchSize: 50,
      maxBatchWaitMs: 2000,
      throttleEnable: true,
      throttleQps: 2.5,
      throttleBurst: 3,
    });
    assert.equal(audit.log.truncate.enabled, true);
    assert.equal(audit.webhook.mode, "blocking-strict");
    assert.equal(audit.webhook.initialBackoffMs, 3000, "the deprecated --audit-webhook-batch-initial-backoff alias");
  });

  it("refuses what kube-apiserver refuses, naming the flag, once the backend is on", () => {
    const log = ["--audit-log-path=/tmp/audit.log"];
    const refusals: [string[], RegExp][] = [
      [[...log, "--audit-log-mode=async"], /--audit-log-mode: invalid audit log mode async, allowed modes are/],
      [[...log, "--audit-log-format=yaml"], /--audit-log-format: invalid audit log format yaml/],
      [[...log, "--audit-log-version=audit.k8s.io/v1beta1"], /--audit-log-version: invalid group version/],
      [[...log, "--audit-log-maxage=-1"], /--audit-log-maxage -1 can't be a negative number/],
      [[...log, "--audit-log-mode=batch", "--audit-log-batch-buffer-size=0"], /buffer size 0, must be a positive/],
      [
        [...log, "--audit-log-mode=batch", "--audit-log-batch-throttle-enable", "--audit-log-batch-throttle-qps=0"],
        /--audit-log-batch-throttle-qps: invalid audit batch log throttle QPS 0/,
      ],
      [
        [...log, "--audit-log-truncate-max-event-size=100", "--audit-log-truncate-max-batch-size=10"],
        /max batch size 10, must be greater than max event size \(100\)/,
      ],
      [["--audit-webhook-config-file=/w", "--audit-webhook-mode=sync"], /--audit-webhook-mode: invalid audit webhook/],
      [["--audit-log-batch-throttle-qps=fast"], /--audit-log-batch-throttle-qps: not a number: fast/],
    ];
    for (const [args, message] of refusals) {
      assert.throws(() => load(args), { code: "INVALID_FLAG_VALUE", message }, args.join(" "));
    }
  });

  it("leaves a backend's options unchecked while the backend is off, as kube-apiserver does", () => {
    assert.equal(load(["--audit-log-mode=async"]).log.mode, "async");
    assert.equal(load(["--audit-webhook-batch-buffer-size=0"]).webhook.batch.bufferSize, 0);
  });
});
