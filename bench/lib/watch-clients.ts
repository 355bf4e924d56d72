// Watch clients (own process, driven over IPC): opens N watches, either each on its own
// HTTP/1.1 TLS connection as N separate clients would, or `perConnection` at a time multiplexed
// on HTTP/2 connections as client-go does; then reports when each saw a named object.
// Messages in: {open: {url, caFile, token, count, perConnection}} | {expect: name, timeoutMs} | {close: true}.
// Messages out: {opened, failed, firstError} | {ready} | {seen: number[] (epoch ms), missing}.
import { readFileSync } from "node:fs";
import { connect } from "node:http2";
import { Agent, request } from "node:https";

interface OpenSpec {
  readonly url: string;
  readonly caFile: string;
  readonly token: string;
  readonly count: number;
  /** 1: HTTP/1.1, a connection per watch; more: HTTP/2, this many watches per connection. */
  readonly perConnection: number;
}

const send = (message: unknown) => process.send?.(message);
const now = () => performance.timeOrigin + performance.now();

let expected: Buffer | undefined;
let seen: number[] = [];
let seenBy = new Set<number>();
let onAllSeen: (() => void) | undefined;
let total = 0;
const requests: { destroy(): void }[] = [];

function onWatchData(index: number, data: Buffer): void {
  if (expected && !seenBy.has(index) && data.includes(expected)) {
    seenBy.add(index);
    seen.push(now());
    if (seenBy.size === total) onAllSeen?.();
  }
}

async function openHttp2(spec: OpenSpec): Promise<void> {
  const url = new URL(spec.url);
  const ca = readFileSync(spec.caFile);
  let opened = 0;
  let failed = 0;
  let firstError: string | undefined;
  for (let first = 0; first < spec.count; first += spec.perConnection) {
    const session = connect(url.origin, { ca });
    session.on("error", (error) => {
      firstError ??= error.message;
    });
    requests.push({ destroy: () => session.destroy() });
    const streams = Math.min(spec.perConnection, spec.count - first);
    await Promise.all(
      Array.from(
        { length: streams },
        (_, j) =>
          new Promise<void>((resolve) => {
            const index = first + j;
            const stream = session.request({
              ":path": url.pathname + url.search,
              authorization: `Bearer ${spec.token}`,
              accept: "application/json",
            });
            stream.on("response", (headers) => {
              if (headers[":status"] !== 200) {
                failed++;
                firstError ??= `HTTP ${headers[":status"]}`;
              } else opened++;
              resolve();
            });
            stream.on("data", (data: Buffer) => onWatchData(index, data));
            stream.on("error", (error) => {
              firstError ??= error.message;
              failed++;
              resolve();
            });
            stream.end();
          }),
      ),
    );
  }
  total = opened;
  send({ opened, failed, firstError });
}

async function open(spec: OpenSpec): Promise<void> {
  if (spec.perConnection > 1) return openHttp2(spec);
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY, ca: readFileSync(spec.caFile) });
  const url = new URL(spec.url);
  let opened = 0;
  let failed = 0;
  let firstError: string | undefined;
  const one = (index: number, attempt = 0): Promise<void> =>
    new Promise<void>((resolve) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          agent,
          headers: { authorization: `Bearer ${spec.token}`, accept: "application/json" },
        },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            if (res.statusCode === 429 && attempt < 20) {
              setTimeout(() => void one(index, attempt + 1).then(resolve), 200);
              return;
            }
            failed++;
            firstError ??= `HTTP ${res.statusCode}`;
            resolve();
            return;
          }
          opened++;
          res.on("data", (data: Buffer) => onWatchData(index, data));
          res.on("error", () => {});
          resolve();
        },
      );
      req.on("error", (error) => {
        failed++;
        firstError ??= error.message;
        resolve();
      });
      req.end();
      requests.push(req);
    });
  const batch = 100;
  for (let i = 0; i < spec.count; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, spec.count - i) }, (_, j) => one(i + j)));
  }
  total = opened;
  send({ opened, failed, firstError });
}

process.on("message", (message: { open?: OpenSpec; expect?: string; timeoutMs?: number; close?: boolean }) => {
  if (message.open) void open(message.open);
  else if (message.expect) {
    expected = Buffer.from(`"name":"${message.expect}"`);
    seen = [];
    seenBy = new Set();
    const done = () => {
      clearTimeout(timer);
      onAllSeen = undefined;
      send({ seen, missing: total - seenBy.size });
    };
    const timer = setTimeout(done, message.timeoutMs ?? 15_000);
    onAllSeen = done;
    send({ ready: true });
  } else if (message.close) {
    for (const req of requests) req.destroy();
    process.exit(0);
  }
});
