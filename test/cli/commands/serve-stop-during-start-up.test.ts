// SIGTERM while `serve` is still starting. Start-up waits for a Redis Sentinel or Cluster session
// store that does not answer yet (it is retried until it does), and the signal used to be
// ignored until then: the kubelet would wait out the pod's grace period and SIGKILL it. The real
// executable, the test bed's kube-apiserver and issuer, and a Cluster address nothing listens on.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startTestBed, type TestBed } from "../../../testbed/bed.ts";
import {
  bedOidcFlags,
  type GatewayCredentials,
  gatewayFlags,
  prepareGatewayCredentials,
  sessionGatewayFlags,
} from "../../../testbed/gateway.ts";
import { waitFor } from "../../../testbed/http.ts";
import { clients } from "../../../testbed/issuer/oidc-provider.ts";
import { repoRoot } from "../../../testbed/paths.ts";
import { freePort } from "../../../testbed/ports.ts";

describe("serve stopped during start-up", { timeout: 120_000 }, () => {
  let bed: TestBed;
  let credentials: GatewayCredentials;

  before(async () => {
    bed = await startTestBed();
    credentials = await prepareGatewayCredentials(bed);
  });
  after(() => bed?.stop());

  it("exits 0 on SIGTERM while its Redis Cluster store is not up yet, instead of waiting for it", async () => {
    const port = await freePort();
    const nobody = await freePort(); // nothing listens there
    const flags = [
      ...(await gatewayFlags(credentials, bedOidcFlags(bed))),
      ...(await sessionGatewayFlags(bed, {
        port,
        issuerUrl: bed.issuer.url,
        clientId: clients.kubernetes.id,
        clientSecret: clients.kubernetes.secret,
      })),
      "--session-store=redis",
      `--session-redis-cluster-connection-urls=127.0.0.1:${nobody}`,
    ];
    const child = spawn(process.execPath, [join(repoRoot, "src", "cli", "kube-oidc-gateway.ts"), "serve", ...flags], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      // The store's retries are logged as they happen: start-up is under way and waiting.
      await waitFor("the store's first failed attempt", async () => output.includes("session store error"), {
        timeoutMs: 30_000,
      });
      const sent = Date.now();
      child.kill("SIGTERM");
      const code = await Promise.race([
        exited,
        new Promise<"still running">((resolve) => setTimeout(() => resolve("still running"), 10_000)),
      ]);
      assert.equal(code, 0, `exit after SIGTERM during start-up (${Date.now() - sent} ms):\n${output}`);
      assert.match(output, /stopped before it was ready/);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
