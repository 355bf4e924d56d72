// Fault: a burst of tokens with random unknown `kid`s. Each could trigger a JWKS refetch; the
// gateway fetches at most once per cooldown (5 s), answers every request 401 promptly, and
// stays healthy for genuine tokens.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
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
import { type JwksTap, tapJwks } from "./issuer-jwks.ts";

const burst = 500;
const cooldownMs = 5_000;

describe("fault: a flood of unknown kids", { timeout: 90_000 }, () => {
  let fb: FaultBed;
  let tap: JwksTap;
  let gateway: GatewayProcess;

  before(async () => {
    fb = await startFaultBed();
    tap = tapJwks(fb.bed.issuer);
    gateway = await spawnGateway(fb);
  });
  after(async () => {
    await gateway?.stop();
    await fb?.bed.stop();
  });

  it("refetches the JWKS at most once per cooldown and answers every request 401 promptly", async () => {
    const { bed } = fb;
    const ca = bed.ca.certPem;
    const list = `${gateway.url}/api/v1/namespaces/default/configmaps`;
    const rsa = keyByKid(bed.issuer.keys, "rsa-1");
    const genuine = mintToken(bed.issuer.url, rsa);
    const tokens = Array.from({ length: burst }, () =>
      mintToken(bed.issuer.url, rsa, { header: { kid: randomBytes(8).toString("hex") } }),
    );
    await sleep(cooldownMs + 500); // a refetch is allowed when the burst starts
    const before = tap.fetches;
    const agent = new https.Agent({ keepAlive: true, ca, maxSockets: 50 });
    const started = Date.now();
    const outcomes: Outcome[] = await Promise.all(tokens.map((token) => request(list, { ca, token, agent })));
    const elapsed = Date.now() - started;
    agent.destroy();
    const fetched = tap.fetches - before;

    const statuses = new Map<string, number>();
    for (const o of outcomes) {
      const key = o.status ? `${o.status} ${statusReason(o.body)}` : `error ${o.error?.message}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    }
    assert.deepEqual([...statuses], [["401 Unauthorized", burst]]);
    const slowest = Math.max(...outcomes.map((o) => o.ms));
    assert.ok(slowest < 5_000, `slowest answer ${slowest} ms`);
    const allowed = Math.ceil(elapsed / cooldownMs) + 1;
    assert.ok(fetched >= 1 && fetched <= allowed, `${fetched} JWKS fetches in ${elapsed} ms (at most ${allowed})`);

    // Healthy afterwards: genuine tokens work, liveness and readiness answer, and a second
    // burst within the cooldown costs the issuer nothing.
    assert.equal((await request(list, { ca, token: genuine })).status, 200);
    assert.equal((await fetch(`${gateway.healthUrl}/livez`)).status, 200);
    const ready = await fetch(`${gateway.healthUrl}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(await ready.text(), "ok\n");
    const again = tap.fetches;
    const second = await Promise.all(tokens.slice(0, 100).map((token) => request(list, { ca, token })));
    assert.ok(second.every((o) => o.status === 401));
    assert.ok(tap.fetches - again <= 1);
    console.log(
      `kid flood: ${burst} requests with unknown kids in ${elapsed} ms, all 401, slowest ${slowest} ms; issuer saw ${fetched} JWKS fetch(es)`,
    );
  });
});
