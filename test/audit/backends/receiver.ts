// A real audit webhook receiver for the tests: an HTTPS (or HTTP) server on 127.0.0.1:0 that
// keeps every request it gets (method, URL, headers, body, client certificate) and answers as the
// test says, and a kubeconfig that addresses it.
import { writeFile } from "node:fs/promises";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import type { KeyPairPem } from "../../../testbed/ca.ts";

export interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly atMs: number;
  /** The client certificate's subject CN, when one was presented and verified. */
  readonly clientCN?: string;
}

export interface Answer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly delayMs?: number;
}

export interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly received: Received[];
  /** Answers in turn; the last one repeats. Default 200. */
  answers: Answer[];
  /** When set, answers instead of `answers`, given the request and how often its body came before. */
  answerFor: ((request: Received, seenBefore: number) => Answer) | undefined;
  /** Resolves once `count` requests have been received. */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(
  options: { tls?: { pair: KeyPairPem; clientCa?: string }; port?: number } = {},
): Promise<Receiver> {
  const received: Received[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let answerIndex = 0;
  let answerList: Answer[] = [{ status: 200 }];
  let answerFor: Receiver["answerFor"];
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const socket = req.socket as TLSSocket;
      const peer = typeof socket.getPeerCertificate === "function" ? socket.getPeerCertificate() : undefined;
      received.push({
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        atMs: performance.now(),
        clientCN: socket.authorized && peer?.subject ? String(peer.subject.CN) : undefined,
      });
      for (const w of waiters.filter((w) => received.length >= w.count)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      const request = received.at(-1) as Received;
      const seenBefore = received.filter((r) => r.body === request.body).length - 1;
      const answer = answerFor
        ? answerFor(request, seenBefore)
        : (answerList[Math.min(answerIndex++, answerList.length - 1)] ?? { status: 200 });
      setTimeout(() => {
        res.writeHead(answer.status, { "Content-Type": "application/json", ...answer.headers });
        res.end("{}");
      }, answer.delayMs ?? 0);
    });
  };
  const server = options.tls
    ? https.createServer(
        {
          cert: options.tls.pair.certPem,
          key: options.tls.pair.keyPem,
          ...(options.tls.clientCa ? { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: false } : {}),
        },
        handler,
      )
    : http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    get answers() {
      return answerList;
    },
    /** Setting the answers starts them from the first again. */
    set answers(list: Answer[]) {
      answerList = list;
      answerIndex = 0;
    },
    get answerFor() {
      return answerFor;
    },
    set answerFor(fn: Receiver["answerFor"]) {
      answerFor = fn;
    },
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    received,
    waitFor(count: number, timeoutMs = 20_000) {
      if (received.length >= count) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`receiver: ${received.length} of ${count} requests`)),
          timeoutMs,
        );
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A kubeconfig for the webhook at `server`, in kube-apiserver's --audit-webhook-config-file format. */
export async function writeWebhookKubeconfig(
  path: string,
  server: string,
  options: {
    ca?: string;
    cert?: KeyPairPem;
    token?: string;
    tokenFile?: string;
    cluster?: Record<string, unknown>;
  } = {},
): Promise<string> {
  const user: Record<string, string> = {};
  if (options.cert) {
    user["client-certificate-data"] = Buffer.from(options.cert.certPem).toString("base64");
    user["client-key-data"] = Buffer.from(options.cert.keyPem).toString("base64");
  }
  if (options.token) user.token = options.token;
  if (options.tokenFile) user.tokenFile = options.tokenFile;
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "audit",
        cluster: {
          server,
          ...(options.ca ? { "certificate-authority-data": Buffer.from(options.ca).toString("base64") } : {}),
          ...options.cluster,
        },
      },
    ],
    users: [{ name: "audit", user }],
    contexts: [{ name: "audit", context: { cluster: "audit", user: "audit" } }],
    "current-context": "audit",
  };
  await writeFile(path, JSON.stringify(config, null, 2));
  return path;
}
