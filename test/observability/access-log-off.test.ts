// --access-log=false: no request lines at all, for answers of every kind (a success, the API
// server's refusal, the gateway's own 401), while the rest of the log goes on. The access log
// itself (on by default, sampling) is read from a real serve in serve-observability.test.ts.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import {
  bedOidcFlags,
  gatewayReady,
  prepareGatewayCredentials,
  type RunningGateway,
  startTestGateway,
} from "../../testbed/gateway.ts";
import { httpsRequest } from "../../testbed/http.ts";

describe("--access-log=false", { timeout: 120_000 }, () => {
  let bed: TestBed;
  const gateways: RunningGateway[] = [];

  before(async () => {
    bed = await startTestBed();
  });

  after(async () => {
    for (const gateway of gateways) await gateway.gateway.stop();
    await bed?.stop();
  });

  async function requestLines(accessLog: string[]): Promise<number> {
    const gateway = await startTestGateway(await prepareGatewayCredentials(bed, `gateway-${gateways.length}`), [
      ...bedOidcFlags(bed),
      ...accessLog,
    ]);
    gateways.push(gateway);
    await gatewayReady(gateway);
    const token = (await bed.login("jane")).idToken;
    const get = (path: string, authorization: string) =>
      httpsRequest(`${gateway.url}${path}`, { ca: bed.ca.certPem, headers: { authorization } });
    assert.equal((await get("/api/v1/namespaces/default/configmaps", `Bearer ${token}`)).status, 403);
    assert.equal((await get("/version", `Bearer ${token}`)).status, 200);
    assert.equal((await get("/api/v1/namespaces", "Bearer not-a-token")).status, 401);
    await new Promise((resolve) => setTimeout(resolve, 50));
    return gateway.logs.filter((line) => (JSON.parse(line) as { msg?: string }).msg === "request").length;
  }

  it("writes no request line, where the default writes one per request", async () => {
    assert.equal(await requestLines([]), 3, "the control: on by default, one line per request");
    assert.equal(await requestLines(["--access-log=false"]), 0);
  });
});
