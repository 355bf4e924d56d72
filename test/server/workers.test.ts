// `serve --workers=2`, the real CLI process in front of the bed's kube-apiserver: connections
// spread over both workers, the health port speaks for all of them, a dead worker is replaced,
// and SIGTERM stops everything cleanly.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { childPids } from "../../bench/lib/processes.ts";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import { bedOidcFlags, type GatewayCredentials, prepareGatewayCredentials } from "../../testbed/gateway.ts";
import { httpsRequest, waitFor } from "../../testbed/http.ts";
import { type ServeChild, startServeChild } from "../../testbed/serve-child.ts";

interface LogLine {
  readonly msg: string;
  readonly worker?: number;
  readonly pid?: number;
  readonly [field: string]: unknown;
}

describe("serve --workers", { timeout: 180_000 }, () => {
  let bed: TestBed;
  let credentials: GatewayCredentials;
  let jane: string;
  let child: ChildProcess;
  let url: string;
  let healthUrl: string;
  let served: ServeChild;
  /** serve's JSON log lines so far (the primary's and the workers'). */
  const logs = (): LogLine[] => served.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as LogLine);

  before(async () => {
    bed = await startTestBed();
    credentials = await prepareGatewayCredentials(bed);
    for (const args of [
      ["create", "clusterrole", "workers-reader", "--verb=get,list", "--resource=configmaps"],
      ["create", "clusterrolebinding", "workers-reader", "--clusterrole=workers-reader", "--user=jane@example.com"],
    ]) {
      const result = await bed.kubectl(args);
      assert.equal(result.code, 0, result.stderr);
    }
    jane = (await bed.login("jane")).idToken;
    served = await startServeChild({ credentials, oidc: bedOidcFlags(bed), extra: ["--workers=2"] });
    child = served.child;
    url = served.url;
    healthUrl = served.healthUrl;
  });
  after(async () => {
    await served?.stop("SIGKILL");
    await bed?.stop();
  });

  it("runs two workers under one primary, and reports ready only when both are", async () => {
    const workers = childPids(child.pid ?? 0);
    assert.equal(workers.length, 2, `worker processes: ${workers.join(", ")}`);
    const listening = logs()
      .filter((l) => l.msg === "worker listening")
      .map((l) => l.worker);
    assert.deepEqual([...new Set(listening)].sort(), [1, 2]);
    const ready = await fetch(`${healthUrl}/readyz`);
    assert.equal(ready.status, 200);
  });

  it("spreads new connections over both workers, each answering as the gateway", async () => {
    const before = logs().length;
    // A new connection each time (Connection: close): the primary deals connections round robin.
    for (let i = 0; i < 12; i++) {
      const ok = await httpsRequest(`${url}/api/v1/namespaces/default/configmaps`, {
        ca: bed.ca.certPem,
        headers: { authorization: `Bearer ${jane}`, connection: "close" },
      });
      assert.equal(ok.status, 200, ok.body);
    }
    // Refusals are logged with the worker that made them.
    for (let i = 0; i < 12; i++) {
      const refused = await httpsRequest(`${url}/api/v1/namespaces/default/configmaps`, {
        ca: bed.ca.certPem,
        headers: { authorization: "Bearer not-a-token", connection: "close" },
      });
      assert.equal(refused.status, 401);
    }
    await new Promise((r) => setTimeout(r, 200));
    const refusedBy = logs()
      .slice(before)
      .filter((l) => l.msg === "authentication failed")
      .map((l) => l.worker);
    assert.equal(refusedBy.length, 12);
    assert.deepEqual([...new Set(refusedBy)].sort(), [1, 2], "both workers served requests");
  });

  it("serves the workers' metrics summed on the primary's health port", async () => {
    const text = await (await fetch(`${healthUrl}/metrics`)).text();
    const sample = (series: string) =>
      Number(
        text
          .split("\n")
          .find((l) => l.startsWith(`${series} `))
          ?.split(" ")[1] ?? Number.NaN,
      );
    assert.equal(sample('kube_oidc_gateway_http_requests_total{method="GET",code="200"}'), 12);
    assert.equal(sample('kube_oidc_gateway_authentications_total{result="failure",reason="MALFORMED"}'), 12);
    assert.equal(text.split("\n").filter((l) => l === "# TYPE kube_oidc_gateway_open_watches gauge").length, 1);
  });

  it("keeps each process's runtime metrics apart by a worker label, and has one build_info series", async () => {
    const text = await (await fetch(`${healthUrl}/metrics`)).text();
    const lines = text.split("\n");
    // The primary (0) and both workers: each its own RSS, none summed into an unlabelled series.
    const rss = lines.filter((l) => l.startsWith("process_resident_memory_bytes"));
    assert.deepEqual(rss.map((l) => /worker="(\d+)"/.exec(l)?.[1]).sort(), ["0", "1", "2"], rss.join("\n"));
    const pids = [child.pid ?? 0, ...childPids(child.pid ?? 0)];
    for (const line of rss) assert.ok(Number(line.split(" ")[1]) > 10_000_000, line);
    const starts = lines.filter((l) => l.startsWith("process_start_time_seconds{"));
    assert.equal(starts.length, 3);
    assert.equal(pids.length, 3);
    for (const line of starts) {
      const value = Number(line.split(" ")[1]);
      assert.ok(Math.abs(value - Date.now() / 1000) < 600, `${line}: a start time, not a sum of three`);
    }
    assert.equal(lines.filter((l) => l.startsWith("# TYPE process_resident_memory_bytes ")).length, 1);
    const buildInfo = lines.filter((l) => l.startsWith("kube_oidc_gateway_build_info"));
    assert.equal(buildInfo.length, 1, buildInfo.join("\n"));
    assert.match(buildInfo[0] ?? "", /\{version="[^"]+",node_version="v[\d.]+"\} 1$/);
  });

  it("replaces a worker that dies, and is not ready until the new one listens", async () => {
    const [victim] = childPids(child.pid ?? 0);
    assert.ok(victim);
    process.kill(victim, "SIGKILL");
    await waitFor("the primary to notice", async () => (await fetch(`${healthUrl}/readyz`)).status === 503, {
      timeoutMs: 5_000,
    });
    const notReady = await (await fetch(`${healthUrl}/readyz`)).text();
    assert.match(notReady, /worker \d: (not running|starting)/);
    await waitFor("a new worker", async () => (await fetch(`${healthUrl}/readyz`)).status === 200, {
      timeoutMs: 30_000,
    });
    const workers = childPids(child.pid ?? 0);
    assert.equal(workers.length, 2);
    assert.ok(!workers.includes(victim));
    assert.ok(logs().some((l) => l.msg === "worker exited; starting another"));
    const ok = await httpsRequest(`${url}/api/v1/namespaces/default/configmaps`, {
      ca: bed.ca.certPem,
      headers: { authorization: `Bearer ${jane}` },
    });
    assert.equal(ok.status, 200);
  });

  it("stops every worker on SIGTERM and exits 0", async () => {
    const workers = childPids(child.pid ?? 0);
    assert.equal(await served.stop("SIGTERM"), 0);
    for (const pid of workers) {
      assert.throws(() => process.kill(pid, 0), "a worker outlived its primary");
    }
  });
});

describe("serve --workers with browser sessions in memory", () => {
  it("is refused: each worker would keep its own sessions", async () => {
    const { loadServeConfig } = await import("../../src/config/serve-config.ts");
    const { ConfigError } = await import("../../src/config/errors.ts");
    const secretFile = join(tmpdir(), `kog-workers-cookie-secret-${process.pid}`);
    writeFileSync(secretFile, `${"x".repeat(40)}\n`);
    after(() => rmSync(secretFile, { force: true }));
    assert.throws(
      () =>
        loadServeConfig(
          [
            "--oidc-issuer-url=https://issuer.example",
            "--oidc-client-id=k",
            "--tls-cert-file=c",
            "--tls-private-key-file=k",
            "--session-client-id=dash",
            "--session-external-url=https://gw.example",
            `--session-cookie-secret-file=${secretFile}`,
            "--workers=2",
          ],
          {},
        ),
      (error: unknown) => error instanceof ConfigError && /--session-store=redis/.test(error.message),
    );
  });
});
