// The audit webhook's blocking modes in the request pipeline, as kube-apiserver runs them
// (k8s.io/apiserver@v0.37.2 pkg/server/options/audit.go wrapBackend, filters/audit.go): the
// request waits for the webhook's answer to its RequestReceived event; blocking-strict fails the
// request with a 500 when the webhook fails, and the request never reaches the API server;
// blocking lets it through. Real parts: the bed's kube-apiserver, a real HTTP receiver.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import {
  bedOidcFlags,
  type GatewayCredentials,
  gatewayReady,
  prepareGatewayCredentials,
  type RunningGateway,
  startTestGateway,
} from "../../testbed/gateway.ts";
import { httpsRequest } from "../../testbed/http.ts";
import { configMapReaderRbac } from "../../testbed/rbac.ts";
import { type Receiver, startReceiver, writeWebhookKubeconfig } from "../audit/backends/receiver.ts";

describe("audit webhook modes in the request pipeline", { timeout: 180_000 }, () => {
  let bed: TestBed;
  let credentials: GatewayCredentials;
  let receiver: Receiver;
  let jane: string;
  const gateways: RunningGateway[] = [];

  const start = async (mode: string): Promise<RunningGateway> => {
    const policy = join(bed.dir, "audit-modes-policy.yaml");
    await writeFile(policy, "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n");
    const kubeconfig = await writeWebhookKubeconfig(join(bed.dir, "audit-modes.kubeconfig"), receiver.url);
    const gateway = await startTestGateway(credentials, [
      ...bedOidcFlags(bed),
      `--audit-policy-file=${policy}`,
      `--audit-webhook-config-file=${kubeconfig}`,
      `--audit-webhook-mode=${mode}`,
      "--audit-webhook-initial-backoff=10ms",
    ]);
    gateways.push(gateway);
    await gatewayReady(gateway);
    return gateway;
  };
  const reachedApiServer = async (marker: string) =>
    ((await bed.apiServer?.auditEvents()) ?? []).some((e) => e.requestURI.includes(marker));
  const list = (gateway: RunningGateway, marker: string) =>
    httpsRequest(`${gateway.url}/api/v1/namespaces/default/configmaps?labelSelector=${marker}`, {
      ca: bed.ca.certPem,
      headers: { authorization: `Bearer ${jane}` },
    });

  before(async () => {
    bed = await startTestBed();
    credentials = await prepareGatewayCredentials(bed);
    const applied = await bed.kubectl(
      ["apply", "-f", "-"],
      undefined,
      configMapReaderRbac("audit-modes", [{ kind: "User", name: "jane@example.com" }]),
    );
    assert.equal(applied.code, 0, applied.stderr);
    receiver = await startReceiver();
    jane = (await bed.login("jane")).idToken;
  });
  after(async () => {
    for (const gateway of gateways) await gateway.gateway.stop();
    await receiver?.close();
    await bed?.stop();
  });

  it("blocking-strict: a webhook that fails fails the request with a 500 Status, before the API server sees it", async () => {
    const gateway = await start("blocking-strict");
    receiver.answerFor = () => ({ status: 503 });
    const marker = `strict-failing-${Date.now()}`;
    const response = await list(gateway, marker);
    assert.equal(response.status, 500);
    const status = JSON.parse(response.body);
    assert.equal(status.kind, "Status");
    assert.match(status.message, /failed to store audit event/);
    assert.ok(response.headers["audit-id"], "the gateway's own answer carries the audit ID");
    // Five attempts, as kube-apiserver's webhook retries with its backoff.
    const posts = receiver.received.filter((r) => r.body.includes(marker));
    assert.equal(posts.length, 5);
    assert.equal(await reachedApiServer(marker), false, "the request went on to the API server");
  });

  it("blocking-strict: with the webhook answering, the request waits for the RequestReceived event, then goes on", async () => {
    const gateway = gateways[0] as RunningGateway;
    receiver.answerFor = () => ({ status: 200, delayMs: 300 });
    const marker = `strict-ok-${Date.now()}`;
    const started = performance.now();
    const response = await list(gateway, marker);
    assert.equal(response.status, 200);
    assert.ok(performance.now() - started >= 300, "the request did not wait for the webhook");
    const stages = receiver.received
      .filter((r) => r.body.includes(marker))
      .flatMap((r) => JSON.parse(r.body).items.map((e: { stage: string }) => e.stage));
    assert.deepEqual(stages.slice(0, 1), ["RequestReceived"]);
    assert.equal(await reachedApiServer(marker), true);
  });

  it("blocking: a webhook that fails does not fail the request", async () => {
    const gateway = await start("blocking");
    receiver.answerFor = () => ({ status: 500 });
    const marker = `blocking-failing-${Date.now()}`;
    const response = await list(gateway, marker);
    assert.equal(response.status, 200);
    assert.equal(await reachedApiServer(marker), true);
  });
});
