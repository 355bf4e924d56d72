// Regression test for the unauthenticated metric cardinality: the request counter and duration
// histogram took the client's raw method as a label, and HTTP/2 accepts any token as :method,
// so requests with random methods and no token minted a series each (2,000 made 38,000 series,
// a 78 MB /metrics and +263 MB RSS when it was read). Through the real gateway in front of the
// real kube-apiserver, over HTTP/2 (HTTP/1.1's parser refuses methods it does not know).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import * as http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { type FaultBed, type GatewayProcess, spawnGateway, startFaultBed } from "../faults/fault-bed.ts";

/** The process's resident set in MB, as the kernel reports it. */
async function rssMb(pid: number | undefined): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]) / 1024;
}

/** Sends `count` requests with random methods and no token, `parallel` streams at a time per connection. */
async function randomMethods(url: string, ca: string, count: number, parallel = 50): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  const session = http2.connect(url, { ca });
  session.on("error", () => {});
  try {
    let sent = 0;
    const one = () =>
      new Promise<void>((resolve) => {
        const method = `M${randomBytes(8).toString("hex").toUpperCase()}`;
        const stream = session.request({ ":method": method, ":path": "/api/v1/namespaces/default/pods" });
        stream.on("response", (headers) => {
          const status = Number(headers[":status"]);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        });
        stream.resume();
        stream.on("close", () => resolve());
        stream.on("error", () => resolve());
        stream.end();
      });
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (sent < count) {
          sent++;
          await one();
        }
      }),
    );
  } finally {
    session.close();
  }
  return statuses;
}

describe("metrics under requests with random methods", { timeout: 300_000 }, () => {
  let fb: FaultBed;
  let gateway: GatewayProcess;

  before(async () => {
    fb = await startFaultBed();
    // The CLI's own process, so its RSS is the gateway's alone. Its heap is held small so that
    // RSS measures what requests leave behind: with V8's default sizing the old generation grows
    // by 10-20 MB per round of garbage it has not collected yet (measured: 131 → 231 MB over eight
    // rounds of 3,000, while with this bound RSS stayed at 112-115 MB over the same eight).
    const nodeOptions = process.env.NODE_OPTIONS;
    process.env.NODE_OPTIONS = "--max-old-space-size=48 --max-semi-space-size=1";
    try {
      gateway = await spawnGateway(fb);
    } finally {
      if (nodeOptions === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = nodeOptions;
    }
  });
  after(async () => {
    await gateway?.stop();
    await fb?.bed.stop();
  });

  it("keeps the series bounded, /metrics small and RSS near its baseline (a series per method was kept)", async () => {
    const metricsText = async () => (await fetch(`${gateway.healthUrl}/metrics`)).text();
    const ca = fb.bed.ca.certPem;
    // Warm-up rounds of the same size first: they grow the gateway's heap to what the measured
    // round reuses, so what RSS gains after them is what the requests left behind.
    for (let round = 0; round < 2; round++) {
      await randomMethods(gateway.url, ca, 3_000);
      await metricsText();
    }
    const baselineBytes = (await metricsText()).length;
    const baselineRss = await rssMb(gateway.child.pid);

    const statuses = await randomMethods(gateway.url, ca, 3_000);
    assert.equal(
      [...statuses.values()].reduce((a, b) => a + b, 0),
      3_000,
      `statuses: ${[...statuses]}`,
    );

    const text = await metricsText();
    await metricsText();
    const rssGrowth = (await rssMb(gateway.child.pid)) - baselineRss;
    const requestSeries = text.split("\n").filter((l) => l.startsWith("kube_oidc_gateway_http_requests_total{"));
    const durationSeries = text
      .split("\n")
      .filter((l) => l.startsWith("kube_oidc_gateway_http_request_duration_seconds_count{"));
    assert.ok(
      requestSeries.length <= 5,
      `${requestSeries.length} request series:\n${requestSeries.slice(0, 5).join("\n")}`,
    );
    assert.ok(durationSeries.length <= 5, `${durationSeries.length} duration series`);
    assert.ok(
      requestSeries.some((l) => l.includes('method="other"')),
      `the random methods are counted as "other":\n${requestSeries.join("\n")}`,
    );
    assert.ok(text.length < baselineBytes + 4_096, `/metrics grew from ${baselineBytes} to ${text.length} bytes`);
    // Before the fix: +263 MB for 2,000 requests (with the heap bound above, the gateway would
    // run out of memory instead). After it, within a few MB.
    assert.ok(rssGrowth < 8, `RSS grew ${rssGrowth.toFixed(1)} MB`);
    assert.equal(gateway.child.exitCode, null, "the gateway is still running");
  });
});
