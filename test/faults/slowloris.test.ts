// Fault: slowloris clients. Connections that never start their TLS handshake, HTTP/1.1
// requests whose headers trickle in one byte per second, and HTTP/2 connections that never
// open a stream are all closed after the gateway's bounds (10 s handshake, 32 s for headers or a
// first HTTP/2 stream), while a normal client keeps getting prompt answers and the gateway's
// open descriptors return to where they were.
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import * as tls from "node:tls";
import { handshakeTimeoutMs, headersTimeoutMs } from "../../src/server/tls-listener.ts";
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
} from "./fault-bed.ts";

const silent = 40;
const trickling = 20;
const silentH2 = 10;

const openFds = async (pid: number | undefined) => (await readdir(`/proc/${pid}/fd`)).length;

interface Held {
  readonly closedAfterMs: Promise<number>;
  readonly received: () => string;
  destroy(): void;
}

function hold(socket: net.Socket | tls.TLSSocket, started: number): Held {
  let received = "";
  socket.on("data", (d: Buffer) => {
    received += d.toString("latin1");
  });
  socket.on("error", () => {});
  return {
    closedAfterMs: new Promise((resolve) => socket.once("close", () => resolve(Date.now() - started))),
    received: () => received,
    destroy: () => socket.destroy(),
  };
}

describe("fault: slowloris clients", { timeout: 120_000 }, () => {
  let fb: FaultBed;
  let gateway: GatewayProcess;

  before(async () => {
    fb = await startFaultBed();
    gateway = await spawnGateway(fb);
  });
  after(async () => {
    await gateway?.stop();
    await fb?.bed.stop();
  });

  it("closes silent and trickling connections after its bounds while serving others", async () => {
    const { bed } = fb;
    const ca = bed.ca.certPem;
    const { hostname, port } = new URL(gateway.url);
    const token = mintToken(bed.issuer.url, keyByKid(bed.issuer.keys, "rsa-1"));
    const list = `${gateway.url}/api/v1/namespaces/default/configmaps`;
    assert.equal((await request(list, { ca, token })).status, 200);
    const fdsBefore = await openFds(gateway.child.pid);
    const started = Date.now();

    // TCP connections that never send a byte: no TLS handshake.
    const silentOnes = Array.from({ length: silent }, () =>
      hold(net.connect({ host: hostname, port: Number(port) }), started),
    );
    // TLS done, then an HTTP/1.1 request whose headers arrive one byte per second.
    const timers: NodeJS.Timeout[] = [];
    const trickle = Array.from({ length: trickling }, () => {
      const socket = tls.connect({ host: hostname, port: Number(port), ca, ALPNProtocols: ["http/1.1"] });
      const held = hold(socket, started);
      socket.once("secureConnect", () => {
        socket.write("GET /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nX-Slow: ");
        const timer = setInterval(() => {
          if (socket.writable) socket.write("a");
        }, 1_000);
        timers.push(timer);
        socket.once("close", () => clearInterval(timer));
      });
      return held;
    });
    // HTTP/2 negotiated, then nothing: no preface, no stream.
    const silentH2s = Array.from({ length: silentH2 }, () =>
      hold(tls.connect({ host: hostname, port: Number(port), ca, ALPNProtocols: ["h2"] }), started),
    );

    // A normal client, meanwhile: a request every 250 ms on a new connection each.
    const normal: Outcome[] = [];
    let running = true;
    const normalLoop = (async () => {
      while (running) {
        normal.push(await request(list, { ca, token }));
        await sleep(250);
      }
    })();

    await sleep(2_000);
    const fdsPeak = await openFds(gateway.child.pid);
    const silentClosed = await Promise.all(silentOnes.map((h) => h.closedAfterMs));
    const trickleClosed = await Promise.all(trickle.map((h) => h.closedAfterMs));
    const h2Closed = await Promise.all(silentH2s.map((h) => h.closedAfterMs));
    running = false;
    await normalLoop;
    for (const timer of timers) clearInterval(timer);
    await sleep(500);
    const fdsAfter = await openFds(gateway.child.pid);

    const range = (values: number[]) => `${Math.min(...values)}–${Math.max(...values)} ms`;
    console.log(
      `slowloris: ${silent} silent TCP closed after ${range(silentClosed)}, ${trickling} trickling closed after ${range(trickleClosed)}, ${silentH2} silent h2 closed after ${range(h2Closed)}; normal client ${normal.length} requests, slowest ${Math.max(...normal.map((o) => o.ms))} ms; gateway fds ${fdsBefore} → ${fdsPeak} → ${fdsAfter}`,
    );
    for (const ms of silentClosed)
      assert.ok(ms >= handshakeTimeoutMs - 500 && ms < handshakeTimeoutMs + 3_000, `${ms}`);
    for (const ms of trickleClosed) assert.ok(ms >= headersTimeoutMs - 500 && ms < headersTimeoutMs + 4_000, `${ms}`);
    for (const ms of h2Closed) assert.ok(ms >= headersTimeoutMs - 500 && ms < headersTimeoutMs + 4_000, `${ms}`);
    for (const held of trickle) assert.match(held.received(), /^HTTP\/1\.1 408 /);
    assert.ok(fdsPeak >= fdsBefore + silent, `fds ${fdsBefore} → ${fdsPeak}`);
    assert.ok(fdsAfter <= fdsBefore + 5, `fds ${fdsBefore} → ${fdsAfter}`);
    assert.ok(normal.length > 50);
    assert.deepEqual(
      normal.filter((o) => o.status !== 200).map((o) => o.status ?? o.error?.message),
      [],
    );
    assert.ok(Math.max(...normal.map((o) => o.ms)) < 2_000);
  });
});
