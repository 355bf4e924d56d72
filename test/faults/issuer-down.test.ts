// Fault: the issuer goes down after the gateway discovered it, then comes back on the same port.
// Tokens signed with a key the gateway has cached keep working; a token with an unknown `kid`
// is refused with 401 (the refetch fails quietly, no 500); /readyz stays 200 but says
// "degraded" and a gauge says the issuer's keys are unreachable; when the issuer is back the
// gateway notices by itself (background key fetch) and accepts its new keys.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { waitFor } from "../../testbed/http.ts";
import { keyByKid } from "../../testbed/issuer/keys.ts";
import { type OidcIssuer, startOidcIssuer } from "../../testbed/issuer/oidc-provider.ts";
import {
  type FaultBed,
  type GatewayProcess,
  metricValue,
  mintToken,
  request,
  sleep,
  spawnGateway,
  startFaultBed,
  statusReason,
} from "./fault-bed.ts";

const unreachable = "kube_oidc_gateway_issuer_keys_unreachable";

describe("fault: the issuer is down for a while", { timeout: 120_000 }, () => {
  let fb: FaultBed;
  let gateway: GatewayProcess;
  let revived: OidcIssuer | undefined;

  before(async () => {
    fb = await startFaultBed();
    gateway = await spawnGateway(fb);
  });
  after(async () => {
    await gateway?.stop();
    await revived?.close();
    await fb?.bed.stop();
  });

  it("keeps cached keys working, refuses unknown kids with 401, reports degraded while ready, and recovers", async () => {
    const { bed } = fb;
    const ca = bed.ca.certPem;
    const list = `${gateway.url}/api/v1/namespaces/default/configmaps`;
    const known = mintToken(bed.issuer.url, keyByKid(bed.issuer.keys, "rsa-1"));
    assert.equal((await request(list, { ca, token: known })).status, 200);
    const readyBefore = await fetch(`${gateway.healthUrl}/readyz`);
    assert.equal(readyBefore.status, 200);
    assert.equal(await readyBefore.text(), "ok\n");

    // Past the refetch cooldown (5 s after discovery), so the unknown kid below triggers a fetch.
    await sleep(5_500);
    const port = Number(new URL(bed.issuer.url).port);
    await bed.issuer.close();

    // Cached keys keep verifying: 30 requests with the known kid, all 200.
    const during = await Promise.all(Array.from({ length: 30 }, () => request(list, { ca, token: known })));
    assert.deepEqual(
      during.map((o) => o.status),
      during.map(() => 200),
    );

    // An unknown kid: one refetch, which fails; the answer is a prompt 401 Status, not a 500.
    const stranger = mintToken(bed.issuer.url, keyByKid(bed.issuer.keys, "rogue-rsa"));
    const refused = await request(list, { ca, token: stranger });
    assert.equal(refused.status, 401, refused.body);
    assert.equal(statusReason(refused.body), "Unauthorized");
    assert.ok(refused.ms < 2_000, `the refusal took ${refused.ms} ms`);

    // Still ready (cached keys still verify), but degraded, with a gauge at 1.
    const ready = await fetch(`${gateway.healthUrl}/readyz`);
    const readyText = await ready.text();
    assert.equal(ready.status, 200, readyText);
    assert.match(readyText, /^ok, degraded:\n- issuer https:\/\/127\.0\.0\.1:\d+: keys unreachable since /);
    const metrics = await (await fetch(`${gateway.healthUrl}/metrics`)).text();
    assert.equal(metricValue(metrics, unreachable, `issuer="${bed.issuer.url}"`), 1);
    assert.ok(metricValue(metrics, "kube_oidc_gateway_jwks_fetches_total", 'result="failure"') >= 1);
    // The known kid still works after the failed refetch (the cache was not emptied).
    assert.equal((await request(list, { ca, token: known })).status, 200);
    const log = gateway.stderr();
    assert.equal(log.match(/"msg":"issuer unreachable/g)?.length, 1, log);
    assert.doesNotMatch(log, /"level":"error"/);

    // The issuer comes back on the same port with new keys; the gateway's background fetch
    // (every 10 s while failing) notices without any token asking for it.
    revived = await startOidcIssuer({ tls: await bed.ca.issueLoopbackServer("oidc-provider"), port });
    const backAt = Date.now();
    await waitFor(
      "the gateway to see the issuer again",
      async () => (await (await fetch(`${gateway.healthUrl}/readyz`)).text()) === "ok\n",
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    const recoveredAfterMs = Date.now() - backAt;
    const metricsAfter = await (await fetch(`${gateway.healthUrl}/metrics`)).text();
    assert.equal(metricValue(metricsAfter, unreachable, `issuer="${bed.issuer.url}"`), 0);
    assert.match(gateway.stderr(), /"msg":"issuer reachable again: JWKS fetched"/);
    const fresh = mintToken(revived.url, keyByKid(revived.keys, "rsa-1"));
    const accepted = await request(list, { ca, token: fresh });
    assert.equal(accepted.status, 200, accepted.body);
    console.log(
      `issuer down: ${during.length} requests with a cached kid answered 200 during the outage; unknown kid refused 401 in ${refused.ms} ms; recovery noticed ${recoveredAfterMs} ms after the issuer came back`,
    );
  });
});
