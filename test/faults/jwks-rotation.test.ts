// Fault: the issuer rotates its signing key. A token signed with the new key is accepted on
// its first request (the unknown `kid` triggers one refetch), without waiting for any cache
// to expire, and tokens signed with the keys still published keep working.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { keyByKid } from "../../testbed/issuer/keys.ts";
import {
  type FaultBed,
  type GatewayProcess,
  mintToken,
  request,
  sleep,
  spawnGateway,
  startFaultBed,
} from "./fault-bed.ts";
import { type JwksTap, tapJwks } from "./issuer-jwks.ts";

describe("fault: the issuer rotates its JWKS", { timeout: 90_000 }, () => {
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

  it("accepts a token signed with a newly published key at once", async () => {
    const { bed } = fb;
    const ca = bed.ca.certPem;
    const list = `${gateway.url}/api/v1/namespaces/default/configmaps`;
    const old = mintToken(bed.issuer.url, keyByKid(bed.issuer.keys, "rsa-1"));
    assert.equal((await request(list, { ca, token: old })).status, 200);
    assert.equal(tap.fetches, 1, "discovery fetched the keys once");

    // A rotation happens at an arbitrary time; here just past the refetch cooldown (5 s).
    await sleep(5_500);
    const rotated = tap.publishNewKey("rotated-2026");
    const token = mintToken(bed.issuer.url, rotated);
    const first = await request(list, { ca, token });
    assert.equal(first.status, 200, first.body);
    assert.equal(tap.fetches, 2, "exactly one refetch for the new kid");
    assert.ok(first.ms < 2_000, `the first request with the new key took ${first.ms} ms`);

    // Both keys verify now, with no further fetch.
    const both = await Promise.all([
      ...Array.from({ length: 10 }, () => request(list, { ca, token })),
      ...Array.from({ length: 10 }, () => request(list, { ca, token: old })),
    ]);
    assert.deepEqual(
      both.map((o) => o.status),
      both.map(() => 200),
    );
    assert.equal(tap.fetches, 2);
    console.log(`jwks rotation: first request with the new key answered 200 in ${first.ms} ms after 1 refetch`);
  });
});
