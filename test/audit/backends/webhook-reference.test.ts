// The webhook backend beside kube-apiserver's own: the test bed's kube-apiserver v1.37.2 posts its
// audit batches (--audit-webhook-config-file, --audit-webhook-mode=batch) to a receiver on
// 127.0.0.1, and the gateway's webhook backend posts to the same receiver with the same
// kubeconfig. What matters to a receiver must be the same: method, path and query, the headers
// (content type, accept, encoding, credentials: client certificate and token), and the body's
// shape (an audit.k8s.io/v1 EventList whose items read as kube-apiserver writes events).
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { WebhookBackend } from "../../../src/audit/backends/webhook.ts";
import { TestCA } from "../../../testbed/ca.ts";
import { httpsRequest } from "../../../testbed/http.ts";
import { type KubeApiServer, startKubeApiServer } from "../../../testbed/kube-apiserver.ts";
import { ensureKubeBinaries } from "../../../testbed/kube-binaries.ts";
import { event, recordedLog } from "./fixtures.ts";
import { type Received, type Receiver, startReceiver, writeWebhookKubeconfig } from "./receiver.ts";

/** Headers every HTTP client sets its own way, and the one that names the client. */
const transportHeaders = new Set(["host", "connection", "user-agent"]);

describe("webhook backend beside kube-apiserver's", { timeout: 300_000 }, () => {
  let dir: string;
  let receiver: Receiver;
  let apiServer: KubeApiServer | undefined;
  let configFile: string;
  let theirs: Received;
  let ours: Received;
  let theirRetries: Received[];
  let ourRetries: Received[];
  const initialBackoffMs = 300;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "kog-audit-webhook-ref-"));
    const ca = await TestCA.create();
    receiver = await startReceiver({
      tls: { pair: await ca.issueLoopbackServer("audit-receiver"), clientCa: ca.certPem },
    });
    configFile = await writeWebhookKubeconfig(
      join(dir, "webhook.kubeconfig"),
      `${receiver.url}/audit/events?cluster=bed`,
      {
        ca: ca.certPem,
        cert: await ca.issue({ commonName: "audit-client", usage: "client" }),
        token: "webhook-token",
      },
    );
    // Every batch's first two posts fail: it must be posted again after
    // --audit-webhook-initial-backoff (then ×1.5), by kube-apiserver as by the gateway's backend.
    receiver.answerFor = (_request, seenBefore) => ({ status: seenBefore === 0 ? 503 : seenBefore === 1 ? 500 : 200 });
    apiServer = await startKubeApiServer({
      binaries: await ensureKubeBinaries(),
      ca,
      dir: join(dir, "kube"),
      jwt: [],
      oidcFlags: [],
      extraArgs: [
        `--audit-webhook-config-file=${configFile}`,
        "--audit-webhook-mode=batch",
        "--audit-webhook-batch-max-wait=1s",
        `--audit-webhook-initial-backoff=${initialBackoffMs}ms`,
      ],
      log: (line) => process.stderr.write(`${line}\n`),
    });
    for (const path of ["/api/v1/namespaces", "/api/v1/namespaces/default/configmaps", "/version"]) {
      const res = await httpsRequest(`${apiServer.url}${path}`, {
        ca: apiServer.caPem,
        headers: { authorization: `Bearer ${apiServer.adminToken}` },
      });
      assert.equal(res.status, 200, path);
    }
    await receiver.waitFor(3, 60_000);
    theirs = receiver.received[0] as Received;
    theirRetries = [...receiver.received];

    const count = receiver.received.length;
    const backend = new WebhookBackend({ configFile, initialBackoffMs, logger: recordedLog().logger });
    assert.equal(await backend.send([event(1), event(2)]), true);
    await backend.shutdown();
    ourRetries = receiver.received.slice(count).filter((r) => r.headers["user-agent"] === "kube-oidc-gateway");
    ours = ourRetries[0] as Received;
    assert.equal(ours.headers["user-agent"], "kube-oidc-gateway");
  });
  after(async () => {
    await apiServer?.stop();
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("the same method, path and query (the kubeconfig's path, its query dropped, and timeout=30s)", () => {
    assert.equal(theirs.method, "POST");
    assert.equal(ours.method, theirs.method);
    assert.equal(theirs.url, "/audit/events?timeout=30s");
    assert.equal(ours.url, theirs.url);
  });

  it("a failed post is sent again, the same body, after the initial backoff and then ×1.5 (jitter ≤ 20 %)", () => {
    for (const [who, posts] of [
      ["kube-apiserver", theirRetries],
      ["gateway", ourRetries],
    ] as const) {
      const first = posts[0] as Received;
      const again = posts.filter((p) => p.body === first.body);
      assert.ok(again.length >= 3, `${who}: the failed batch was posted ${again.length} times`);
      const [a, b, c] = again.map((p) => p.atMs) as [number, number, number];
      // Each wait is between the backoff and 20 % more (timers may fire a little late).
      assert.ok(b - a >= initialBackoffMs - 5 && b - a <= initialBackoffMs * 1.2 + 250, `${who}: ${b - a} ms`);
      assert.ok(c - b >= initialBackoffMs * 1.5 - 5 && c - b <= initialBackoffMs * 1.8 + 250, `${who}: ${c - b} ms`);
    }
  });

  it("the same credentials: the client certificate and the bearer token", () => {
    assert.equal(theirs.clientCN, "audit-client");
    assert.equal(ours.clientCN, theirs.clientCN);
    assert.equal(theirs.headers.authorization, "Bearer webhook-token");
    assert.equal(ours.headers.authorization, theirs.headers.authorization);
  });

  it("the same headers, but for the transport's own and the User-Agent", () => {
    const pick = (r: Received) =>
      Object.fromEntries(
        Object.entries(r.headers).filter(([name]) => !transportHeaders.has(name) && name !== "content-length"),
      );
    assert.deepEqual(pick(ours), pick(theirs));
    assert.ok(theirs.headers["content-length"], "kube-apiserver sends a length, not chunks");
    assert.equal(ours.headers["content-length"], String(Buffer.byteLength(ours.body)));
    // kube-apiserver's webhook client has no User-Agent of its own: Go's default.
    assert.equal(theirs.headers["user-agent"], "Go-http-client/1.1");
  });

  it("the same body: an audit.k8s.io/v1 EventList, its items shaped as kube-apiserver's", () => {
    const theirList = JSON.parse(theirs.body);
    const ourList = JSON.parse(ours.body);
    const head = (list: Record<string, unknown>) => ({ ...list, items: undefined });
    assert.deepEqual(head(ourList), head(theirList));
    assert.equal(theirList.kind, "EventList");
    assert.equal(theirList.apiVersion, "audit.k8s.io/v1");
    // Member order as kube-apiserver writes an item, for the members both events have.
    const theirItem = theirList.items[0] as Record<string, unknown>;
    const ourItem = ourList.items[0] as Record<string, unknown>;
    const shared = (item: Record<string, unknown>, other: Record<string, unknown>) =>
      Object.keys(item).filter((key) => key in other);
    assert.deepEqual(shared(ourItem, theirItem), shared(theirItem, ourItem));
    // Items carry no kind and apiVersion: the codec sets them on the list only.
    for (const key of ["kind", "apiVersion", "level", "auditID", "stage", "requestURI", "verb", "user"]) {
      assert.equal(key in ourItem, key in theirItem, key);
    }
    assert.equal("kind" in theirItem, false);
    assert.match(String(theirItem.requestReceivedTimestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.match(String(ourItem.requestReceivedTimestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });
});
