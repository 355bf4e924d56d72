// Fault: the API server is stopped and started again while clients keep sending requests
// through the gateway. During the outage every answer is a Status (503 or 502 from the gateway,
// or the API server's own while it shuts down), never a 500 and never a hang beyond the
// upstream timeout; afterwards requests succeed again without restarting the gateway.
import assert from "node:assert/strict";
import * as https from "node:https";
import { after, before, describe, it } from "node:test";
import { keyByKid } from "../../testbed/issuer/keys.ts";
import {
  type FaultBed,
  type GatewayProcess,
  mintToken,
  type Outcome,
  request,
  sleep,
  spawnGateway,
  startFaultBed,
  statusReason,
} from "./fault-bed.ts";

const upstreamTimeoutMs = 5_000;

describe("fault: the API server restarts under load", { timeout: 240_000 }, () => {
  let fb: FaultBed;
  let gateway: GatewayProcess;

  before(async () => {
    fb = await startFaultBed();
    gateway = await spawnGateway(fb, [`--upstream-timeout=${upstreamTimeoutMs / 1000}s`]);
  });
  after(async () => {
    await gateway?.stop();
    await fb?.bed.stop();
  });

  it("answers Status errors during the outage and recovers without a gateway restart", async () => {
    const { bed } = fb;
    const apiServer = bed.apiServer;
    assert.ok(apiServer);
    const ca = bed.ca.certPem;
    const token = mintToken(bed.issuer.url, keyByKid(bed.issuer.keys, "rsa-1"));
    const list = `${gateway.url}/api/v1/namespaces/default/configmaps`;
    const agent = new https.Agent({ keepAlive: true, ca, maxSockets: 8 });
    type Phase = "before" | "down" | "after";
    let phase: Phase = "before";
    const seen: { phase: Phase; outcome: Outcome }[] = [];
    let running = true;
    const loop = async () => {
      while (running) {
        const outcome = await request(list, { ca, token, agent, timeoutMs: upstreamTimeoutMs + 5_000 });
        seen.push({ phase, outcome });
        if (outcome.status !== 200) await sleep(20);
      }
    };
    const loops = Array.from({ length: 4 }, loop);
    await sleep(2_000);
    phase = "down";
    const haltStarted = Date.now();
    await apiServer.halt();
    await sleep(4_000);
    const resumeStarted = Date.now();
    await apiServer.resume();
    const downMs = Date.now() - haltStarted;
    const restartMs = Date.now() - resumeStarted;
    phase = "after";
    await sleep(3_000);
    running = false;
    await Promise.all(loops);
    agent.destroy();

    const tally = new Map<string, number>();
    for (const { phase, outcome } of seen) {
      const what = outcome.status
        ? `${outcome.status}${outcome.status === 200 ? "" : ` ${statusReason(outcome.body)}`}`
        : `error ${outcome.error?.message}`;
      tally.set(`${phase}: ${what}`, (tally.get(`${phase}: ${what}`) ?? 0) + 1);
    }
    const summary = [...tally].map(([k, n]) => `${k} ×${n}`).join(", ");
    console.log(`upstream restart (down ${downMs} ms, restart ${restartMs} ms): ${summary}`);

    const bad = seen.filter(({ phase, outcome }) => {
      if (outcome.status === 200) return false;
      if (outcome.status === undefined) return true; // the gateway must always answer
      if (outcome.status === 500) return true;
      // A Kubernetes Status from the gateway (502/503/504) or from the API server shutting down
      // (429, 503), or starting: its first answers can be 403 while its RBAC caches fill.
      const allowed = phase === "down" ? [403, 429, 502, 503, 504] : [];
      return statusReason(outcome.body) === undefined || !allowed.includes(outcome.status);
    });
    assert.deepEqual(
      bad.map(({ phase, outcome }) => `${phase}: ${outcome.status ?? outcome.error?.message}`),
      [],
      summary,
    );
    const slowest = Math.max(...seen.map(({ outcome }) => outcome.ms));
    assert.ok(slowest <= upstreamTimeoutMs + 1_000, `slowest answer ${slowest} ms`);
    const before = seen.filter((s) => s.phase === "before");
    assert.ok(before.length > 20 && before.every((s) => s.outcome.status === 200));
    assert.ok(
      seen.some((s) => s.phase === "down" && s.outcome.status === 503),
      "the outage was answered with 503",
    );
    // Recovery: after the API server is back, the last requests of every loop succeed.
    const after = seen.filter((s) => s.phase === "after");
    assert.ok(after.length > 20, `${after.length} requests after the restart`);
    assert.ok(
      after.slice(-20).every((s) => s.outcome.status === 200),
      summary,
    );
    assert.equal(gateway.child.exitCode, null, "the gateway kept running");
  });
});
