// Editing --authentication-config while requests flow: a valid edit takes effect without a
// restart and without a failed request; a broken edit is refused loudly and the previous
// configuration keeps serving.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import {
  gatewayReady,
  prepareGatewayCredentials,
  type RunningGateway,
  startTestGateway,
} from "../../testbed/gateway.ts";
import { httpsRequest, waitFor } from "../../testbed/http.ts";
import { clients } from "../../testbed/issuer/oidc-provider.ts";

describe("--authentication-config reload", { timeout: 120_000 }, () => {
  let bed: TestBed;
  let gateway: RunningGateway;
  let file: string;
  const config = (prefix: string) =>
    JSON.stringify({
      apiVersion: "apiserver.config.k8s.io/v1beta1",
      kind: "AuthenticationConfiguration",
      jwt: [
        {
          issuer: { url: bed.issuer.url, certificateAuthority: bed.ca.certPem, audiences: [clients.kubernetes.id] },
          claimMappings: { username: { claim: "email", prefix } },
        },
      ],
    });

  before(async () => {
    bed = await startTestBed();
    file = join(bed.dir, "authentication-config.json");
    await writeFile(file, config("first:"));
    gateway = await startTestGateway(await prepareGatewayCredentials(bed), [`--authentication-config=${file}`]);
    await gatewayReady(gateway, 30_000);
  });
  after(async () => {
    await gateway?.gateway.stop();
    await bed?.stop();
  });

  const username = async (token: string) => {
    const response = await httpsRequest(`${gateway.url}/apis/authentication.k8s.io/v1/selfsubjectreviews`, {
      method: "POST",
      ca: bed.ca.certPem,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }),
    });
    return response.status === 201
      ? String(JSON.parse(response.body).status.userInfo.username)
      : `HTTP ${response.status}`;
  };
  const reloads = async (result: string) => {
    const metrics = await (await fetch(`${gateway.healthUrl}/metrics`)).text();
    return Number(
      new RegExp(`^kube_oidc_gateway_authentication_config_reloads_total\\{result="${result}"\\} (\\d+)$`, "m").exec(
        metrics,
      )?.[1] ?? 0,
    );
  };

  it("applies a valid edit without a restart or a failed request", async () => {
    const { idToken } = await bed.login("jane");
    assert.equal(await username(idToken), "first:jane@example.com");
    const seen = new Set<string>();
    let running = true;
    const load = (async () => {
      while (running) seen.add(await username(idToken));
    })();
    await writeFile(file, config("second:"));
    await waitFor("the new prefix", async () => seen.has("second:jane@example.com"), { timeoutMs: 20_000 });
    running = false;
    await load;
    assert.deepEqual([...seen].sort(), ["first:jane@example.com", "second:jane@example.com"]);
    assert.equal(await reloads("success"), 1);
  });

  it("keeps the previous configuration when an edit is broken, and says so", async () => {
    const { idToken } = await bed.login("jane");
    await writeFile(file, config("second:").replace('"https://', '"http://'));
    await waitFor("the refusal", async () => (await reloads("failure")) === 1, { timeoutMs: 20_000 });
    assert.equal(await username(idToken), "second:jane@example.com");
    assert.match(
      gateway.logs.join(""),
      /"level":"error","msg":"authentication configuration NOT reloaded; the previous one keeps serving".*URL scheme must be https/,
    );
  });
});
