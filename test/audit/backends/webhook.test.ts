// The webhook backend against a real HTTPS receiver on 127.0.0.1: the request kube-apiserver's
// client-go sends (path, query, headers, EventList body), the kubeconfig's CA, client certificate,
// token and tokenFile, retries on 5xx, on a refused connection and after Retry-After, giving up
// after DefaultRetryBackoff's five attempts, and the bounds on what is in flight.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { backoffDelays, defaultRetryBackoff, WebhookBackend } from "../../../src/audit/backends/webhook.ts";
import { encodeEvent, encodeEventList } from "../../../src/audit/encode.ts";
import { ConfigError } from "../../../src/config/errors.ts";
import { type KeyPairPem, TestCA } from "../../../testbed/ca.ts";
import { event, recordedLog } from "./fixtures.ts";
import { type Receiver, startReceiver, writeWebhookKubeconfig } from "./receiver.ts";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("webhook backend", { timeout: 120_000 }, () => {
  let dir: string;
  let ca: TestCA;
  let serving: KeyPairPem;
  let receiver: Receiver;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "kog-audit-webhook-"));
    ca = await TestCA.create();
    serving = await ca.issueLoopbackServer("audit-receiver");
    receiver = await startReceiver({ tls: { pair: serving, clientCa: ca.certPem } });
  });
  after(async () => {
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const backend = async (
    name: string,
    options: Parameters<typeof writeWebhookKubeconfig>[2],
    server = receiver.url,
  ) => {
    const { logger, lines } = recordedLog();
    const configFile = await writeWebhookKubeconfig(join(dir, `${name}.kubeconfig`), server, options);
    return { webhook: new WebhookBackend({ configFile, initialBackoffMs: 50, logger }), lines };
  };

  it("POSTs the batch as an audit.k8s.io/v1 EventList with client-go's headers, a token and the CA", async () => {
    receiver.received.length = 0;
    receiver.answers = [{ status: 200 }];
    const { webhook } = await backend(
      "token",
      { ca: ca.certPem, token: "audit-token" },
      `${receiver.url}/audit/v1?x=1`,
    );
    const events = [event(1), event(2)];
    assert.equal(await webhook.send(events), true);
    const [got] = receiver.received;
    assert.equal(got?.method, "POST");
    assert.equal(got?.url, "/audit/v1?timeout=30s", "the kubeconfig's query dropped, as client-go does");
    assert.equal(got?.headers["content-type"], "application/json");
    assert.equal(got?.headers.accept, "application/json, */*");
    assert.equal(got?.headers.authorization, "Bearer audit-token");
    assert.equal(got?.headers["content-length"], String(Buffer.byteLength(got?.body ?? "")));
    assert.equal(got?.body, encodeEventList(events));
    const list = JSON.parse(got?.body ?? "{}");
    assert.equal(list.kind, "EventList");
    assert.equal(list.apiVersion, "audit.k8s.io/v1");
    assert.equal(list.items.length, 2);
    // Items as kube-apiserver posts them: the event without kind and apiVersion.
    const { kind: _kind, apiVersion: _apiVersion, ...item } = JSON.parse(encodeEvent(events[0] as (typeof events)[0]));
    assert.deepEqual(list.items[0], item);
    assert.equal(String(webhook), "webhook");
    await webhook.shutdown();
  });

  it("presents the kubeconfig's client certificate", async () => {
    receiver.received.length = 0;
    const client = await ca.issue({ commonName: "kube-oidc-gateway-audit", usage: "client" });
    const { webhook } = await backend("cert", { ca: ca.certPem, cert: client });
    assert.equal(await webhook.send([event(1)]), true);
    assert.equal(receiver.received[0]?.clientCN, "kube-oidc-gateway-audit");
    assert.equal(receiver.received[0]?.headers.authorization, undefined);
    await webhook.shutdown();
  });

  it("reads a tokenFile at each request (client-go re-reads it)", async () => {
    receiver.received.length = 0;
    const tokenFile = join(dir, "token");
    await writeFile(tokenFile, "first\n");
    const { webhook } = await backend("token-file", { ca: ca.certPem, tokenFile: "token" });
    assert.equal(await webhook.send([event(1)]), true);
    await writeFile(tokenFile, "second\n");
    assert.equal(await webhook.send([event(2)]), true);
    assert.deepEqual(
      receiver.received.map((r) => r.headers.authorization),
      ["Bearer first", "Bearer second"],
    );
    await webhook.shutdown();
  });

  it("a receiver whose certificate the CA did not sign gets nothing; five attempts, then false, logged once", async () => {
    receiver.received.length = 0;
    const other = await TestCA.create("another CA");
    const { webhook, lines } = await backend("wrong-ca", { ca: other.certPem, token: "t" });
    const started = performance.now();
    assert.equal(await webhook.send([event(1)]), false);
    // Waits of 50, 75, 112.5, 168.75 ms (each up to 20 % more) between the five attempts.
    assert.ok(performance.now() - started >= 400, `${performance.now() - started} ms`);
    assert.equal(receiver.received.length, 0);
    assert.equal(await webhook.send([event(2)]), false);
    const errors = lines.filter((l) => l.level === "error");
    assert.equal(errors.length, 1, JSON.stringify(lines));
    assert.match(String(errors[0]?.error), /certificate/i);
    await webhook.shutdown();
  });

  it("retries 5xx answers with the backoff and succeeds when the receiver recovers", async () => {
    receiver.received.length = 0;
    receiver.answers = [{ status: 500 }, { status: 503 }, { status: 200 }];
    const { webhook, lines } = await backend("retry", { ca: ca.certPem });
    assert.equal(await webhook.send([event(1)]), true);
    assert.equal(receiver.received.length, 3);
    const [a, b, c] = receiver.received.map((r) => r.atMs) as [number, number, number];
    assert.ok(b - a >= 45 && c - b >= 70, `gaps ${b - a} and ${c - b} ms`);
    assert.ok(receiver.received.every((r) => r.body === receiver.received[0]?.body));
    assert.equal(lines.filter((l) => l.level === "error").length, 0);
    receiver.answers = [{ status: 200 }];
    await webhook.shutdown();
  });

  it("every error is retried, a 400 too (the audit plugin's retryOnError), five attempts at most", async () => {
    receiver.received.length = 0;
    receiver.answers = [{ status: 400 }];
    const { webhook } = await backend("always-400", { ca: ca.certPem });
    assert.equal(await webhook.send([event(1)]), false);
    assert.equal(receiver.received.length, 5);
    receiver.answers = [{ status: 200 }];
    await webhook.shutdown();
  });

  it("a 429 with Retry-After is sent again after it, within one attempt (client-go's own retry)", async () => {
    receiver.received.length = 0;
    receiver.answers = [{ status: 429, headers: { "Retry-After": "1" } }, { status: 200 }];
    const { logger } = recordedLog();
    const configFile = await writeWebhookKubeconfig(join(dir, "retry-after.kubeconfig"), receiver.url, {
      ca: ca.certPem,
    });
    // An initial backoff of 20 s: had the backoff retried, the test would time out.
    const webhook = new WebhookBackend({ configFile, initialBackoffMs: 20_000, logger });
    assert.equal(await webhook.send([event(1)]), true);
    const [a, b] = receiver.received.map((r) => r.atMs) as [number, number];
    assert.ok(b - a >= 950 && b - a < 5000, `${b - a} ms`);
    receiver.answers = [{ status: 200 }];
    await webhook.shutdown();
  });

  it("a refused connection is retried until the receiver listens", async () => {
    const port = await freePort();
    const { webhook } = await backend("refused", { ca: ca.certPem }, `https://127.0.0.1:${port}`);
    const sending = webhook.send([event(1)]);
    await new Promise((resolve) => setTimeout(resolve, 80));
    const late = await startReceiver({ tls: { pair: serving }, port });
    try {
      assert.equal(await sending, true);
      assert.equal(late.received.length, 1);
    } finally {
      await late.close();
      await webhook.shutdown();
    }
  });

  it("a kept-alive connection the receiver drops is replaced at once, not after a backoff", async () => {
    // A receiver that answers a connection's first request and drops the connection at its
    // second, as a server whose idle timeout has just passed.
    const served = new WeakSet<object>();
    let requests = 0;
    const server = createHttpServer((req, res) => {
      requests++;
      if (served.has(req.socket)) return void req.socket.destroy();
      served.add(req.socket);
      req.resume();
      req.on("end", () => res.end("{}"));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    const configFile = await writeWebhookKubeconfig(join(dir, "stale.kubeconfig"), `http://127.0.0.1:${port}`);
    const webhook = new WebhookBackend({ configFile, initialBackoffMs: 20_000, logger: recordedLog().logger });
    try {
      assert.equal(await webhook.send([event(1)]), true);
      const started = performance.now();
      assert.equal(await webhook.send([event(2)]), true);
      assert.ok(performance.now() - started < 2_000, "no backoff");
      assert.equal(requests, 3, "the dropped request, then the same on a new connection");
    } finally {
      await webhook.shutdown();
      server.closeAllConnections();
      server.close();
    }
  });

  it("processEvents answers with the POST's outcome once known (blocking modes); beyond maxInFlight, false at once", async () => {
    receiver.received.length = 0;
    receiver.answers = [{ status: 200, delayMs: 300 }];
    const { logger, lines } = recordedLog();
    const configFile = await writeWebhookKubeconfig(join(dir, "inflight.kubeconfig"), receiver.url, { ca: ca.certPem });
    const webhook = new WebhookBackend({ configFile, initialBackoffMs: 50, logger, maxInFlight: 2 });
    const started = performance.now();
    const first = webhook.processEvents(event(1));
    const second = webhook.processEvents(event(2));
    assert.ok(first instanceof Promise && second instanceof Promise, "the answers are still to come");
    assert.equal(webhook.processEvents(event(3)), false);
    assert.ok(performance.now() - started < 100, "no call blocked the event loop");
    assert.match(String(lines.find((l) => l.level === "error")?.error), /in flight/);
    assert.deepEqual(await Promise.all([first, second]), [true, true]);
    assert.ok(performance.now() - started >= 300, "the outcome waited for the receiver");
    await webhook.shutdown();
    assert.equal(receiver.received.length, 2);
    assert.equal(webhook.processEvents(event(4)), false, "shut down");
    receiver.answers = [{ status: 200 }];
  });

  it("DefaultRetryBackoffWithInitialDelay: steps 5, factor 1.5, jitter up to 20 %", () => {
    assert.deepEqual(
      backoffDelays(defaultRetryBackoff(10_000), () => 0),
      [10_000, 15_000, 22_500, 33_750],
    );
    assert.deepEqual(
      backoffDelays(defaultRetryBackoff(10_000), () => 0.5),
      [11_000, 16_500, 24_750, 37_125],
    );
  });

  it("kubeconfigs kube-oidc-gateway cannot use are refused at start with the flag named", async () => {
    const cases: [string, Parameters<typeof writeWebhookKubeconfig>[2], RegExp][] = [
      ["skip", { cluster: { "insecure-skip-tls-verify": true } }, /insecure-skip-tls-verify/],
      ["proxy", { cluster: { "proxy-url": "http://proxy:3128" } }, /proxy-url/],
    ];
    for (const [name, options, message] of cases) {
      const configFile = await writeWebhookKubeconfig(join(dir, `${name}.kubeconfig`), receiver.url, options);
      assert.throws(
        () => new WebhookBackend({ configFile, initialBackoffMs: 10, logger: recordedLog().logger }),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.code === "AUDIT_WEBHOOK_CONFIG_INVALID" &&
          message.test(error.message) &&
          error.message.includes("--audit-webhook-config-file"),
      );
    }
    const exec = join(dir, "exec.kubeconfig");
    await writeFile(
      exec,
      JSON.stringify({
        clusters: [{ name: "c", cluster: { server: receiver.url } }],
        users: [{ name: "u", user: { exec: { command: "get-token" } } }],
        contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
        "current-context": "x",
      }),
    );
    assert.throws(
      () => new WebhookBackend({ configFile: exec, initialBackoffMs: 10, logger: recordedLog().logger }),
      /exec and auth-provider/,
    );
    assert.throws(
      () =>
        new WebhookBackend({ configFile: join(dir, "missing"), initialBackoffMs: 10, logger: recordedLog().logger }),
      ConfigError,
    );
  });
});
