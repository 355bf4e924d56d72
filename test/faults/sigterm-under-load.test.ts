// Fault: SIGTERM while the gateway process is under load, with writes. Extends
// test/server/lifecycle.test.ts (reads only) with ConfigMap creates and slow uploads in flight
// at the signal: every request that got a response got a complete one, every create answered
// 201 exists, no create the client saw fail exists (nothing accepted was lost or answered
// wrongly), the uploads in flight complete, and the process exits 0.
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
} from "./fault-bed.ts";

const configMap = (name: string) =>
  JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { payload: "x".repeat(512) } });

/** A create whose body takes `ms` to arrive: in flight when the signal comes. */
function slowCreate(url: string, ca: string, token: string, name: string, ms: number): Promise<Outcome> {
  const started = performance.now();
  const body = configMap(name);
  return new Promise((resolve) => {
    const req = https.request(
      url,
      {
        method: "POST",
        ca,
        agent: false,
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve(
            res.complete
              ? { status: res.statusCode, body: Buffer.concat(chunks).toString(), ms: performance.now() - started }
              : { error: new Error("truncated"), headersReceived: true, ms: performance.now() - started },
          ),
        );
      },
    );
    req.on("error", (error) => resolve({ error, ms: performance.now() - started }));
    const half = Math.floor(body.length / 2);
    req.write(body.slice(0, half));
    setTimeout(() => req.end(body.slice(half)), ms);
  });
}

describe("fault: SIGTERM under load", { timeout: 120_000 }, () => {
  let fb: FaultBed;
  let gateway: GatewayProcess;

  before(async () => {
    fb = await startFaultBed();
    gateway = await spawnGateway(fb);
  });
  after(async () => {
    await gateway?.stop();
    await fb?.bed.stop();
  });

  it("loses no accepted request, answers each completely, and exits 0", async () => {
    const { bed } = fb;
    const ca = bed.ca.certPem;
    const token = mintToken(bed.issuer.url, keyByKid(bed.issuer.keys, "rsa-1"));
    const collection = `${gateway.url}/api/v1/namespaces/default/configmaps`;
    const agent = new https.Agent({ keepAlive: true, ca, maxSockets: 6 });
    const creates: { name: string; outcome: Outcome }[] = [];
    const reads: Outcome[] = [];
    let running = true;
    let serial = 0;
    const worker = async (w: number) => {
      while (running) {
        let outcome: Outcome;
        if (w % 2 === 0) {
          const name = `sigterm-${serial++}`;
          outcome = await request(collection, { ca, token, agent, method: "POST", body: configMap(name) });
          creates.push({ name, outcome });
        } else {
          outcome = await request(collection, { ca, token, agent });
          reads.push(outcome);
        }
        if (outcome.status === undefined) await sleep(50); // refused: the listener is closed
      }
    };
    const workers = Array.from({ length: 6 }, (_, w) => worker(w));
    await sleep(1_500);
    const uploads = Array.from({ length: 3 }, (_, i) => slowCreate(collection, ca, token, `sigterm-slow-${i}`, 1_500));
    await sleep(300); // the uploads' headers have reached the gateway
    const signalled = Date.now();
    gateway.child.kill("SIGTERM");
    const code = await gateway.exited;
    const exitMs = Date.now() - signalled;
    running = false;
    await Promise.all(workers);
    const slow = await Promise.all(uploads);
    agent.destroy();

    const listed = await bed.kubectl(["get", "configmaps", "--namespace=default", "-o", "name"]);
    assert.equal(listed.code, 0, listed.stderr);
    const existing = new Set(listed.stdout.split("\n").map((l) => l.replace("configmap/", "").trim()));

    const complete = (o: Outcome) => o.status !== undefined;
    const created = creates.filter((c) => c.outcome.status === 201);
    const failedCreates = creates.filter((c) => !complete(c.outcome));
    const wrong = [...creates.map((c) => c.outcome), ...reads].filter(
      (o) => (complete(o) && o.status !== 200 && o.status !== 201) || o.headersReceived,
    );
    const summary = `exit ${code} after ${exitMs} ms; creates: ${created.length} × 201, ${failedCreates.length} refused before reaching the gateway; reads: ${reads.filter(complete).length} × 200, ${reads.filter((o) => !complete(o)).length} refused; slow uploads: ${slow.map((o) => o.status ?? o.error?.message).join(", ")}`;
    console.log(`sigterm under load: ${summary}`);

    assert.equal(code, 0, gateway.stderr());
    assert.match(gateway.stderr(), /"msg":"stopped"/);
    assert.deepEqual(
      wrong.map((o) => o.status ?? o.error?.message),
      [],
      summary,
    );
    assert.ok(created.length > 10 && reads.filter(complete).length > 10, summary);
    for (const { name } of created) assert.ok(existing.has(name), `${name} answered 201 but does not exist`);
    // A create the client saw fail must not have happened: it was refused, not lost.
    const lost = failedCreates.filter((c) => existing.has(c.name)).map((c) => `${c.name}: ${c.outcome.error?.message}`);
    assert.deepEqual(lost, [], summary);
    // Uploads in flight at the signal complete within the grace period.
    assert.deepEqual(
      slow.map((o) => o.status),
      [201, 201, 201],
      summary,
    );
    for (let i = 0; i < 3; i++) assert.ok(existing.has(`sigterm-slow-${i}`));
  });
});
