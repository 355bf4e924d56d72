// Soak: the gateway process under sustained moderate load for KOG_SOAK_MINUTES minutes (30 by
// default, 2 when CI is set): a few loops of reads (some with a refused token), ConfigMaps
// created, updated and deleted, and watches opened and closed over time, all through
// `kube-oidc-gateway serve` as a child process. Every few seconds its RSS and open file
// descriptors are read from /proc; after the warm-up both must stay flat. Prints the figures.
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import * as https from "node:https";
import { after, before, describe, it } from "node:test";
import { keyByKid } from "../../testbed/issuer/keys.ts";
import {
  type FaultBed,
  type GatewayProcess,
  metricValue,
  mintToken,
  request,
  sleep,
  spawnGateway,
  startFaultBed,
} from "../faults/fault-bed.ts";

const minutes = Number(process.env.KOG_SOAK_MINUTES ?? (process.env.CI ? 2 : 30));
const durationMs = minutes * 60_000;
const warmUpMs = Math.min(60_000, durationMs / 4);
const sampleEveryMs = 5_000;
const readLoops = 4;
/** Each read loop waits at least this long between requests: at most ~160 req/s in all. */
const readIntervalMs = 25;
const watches = 12;
const churnNames = 40;

interface Sample {
  readonly atMs: number;
  readonly rssMb: number;
  readonly fds: number;
  readonly openWatches: number;
}

async function sample(gateway: GatewayProcess, started: number): Promise<Sample> {
  const pid = gateway.child.pid;
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1]);
  const fds = (await readdir(`/proc/${pid}/fd`)).length;
  const metrics = await (await fetch(`${gateway.healthUrl}/metrics`)).text();
  return {
    atMs: Date.now() - started,
    rssMb: rssKb / 1024,
    fds,
    openWatches: metricValue(metrics, "kube_oidc_gateway_open_watches"),
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

describe(`soak: ${minutes} minute(s) of load, watches and churn`, { timeout: durationMs + 300_000 }, () => {
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

  // On the test itself: run-tests.ts's --test-timeout (10 min) would otherwise cut a 30-minute run.
  it("keeps RSS and open descriptors flat with no failed request", { timeout: durationMs + 120_000 }, async () => {
    const { bed } = fb;
    const ca = bed.ca.certPem;
    const key = keyByKid(bed.issuer.keys, "rsa-1");
    const token = mintToken(bed.issuer.url, key, { ttlSeconds: minutes * 60 + 3_600 });
    const expired = mintToken(bed.issuer.url, key, { ttlSeconds: -120 });
    const collection = `${gateway.url}/api/v1/namespaces/default/configmaps`;
    const agent = new https.Agent({ keepAlive: true, ca, maxSockets: 16 });
    const counts = { requests: 0, failures: 0, refusedAsExpected: 0, watchesOpened: 0, watchEvents: 0 };
    const failures: string[] = [];
    const fail = (what: string) => {
      counts.failures++;
      if (failures.length < 20) failures.push(what);
    };
    const started = Date.now();
    const deadline = started + durationMs;
    const running = () => Date.now() < deadline;

    const readLoop = async (n: number) => {
      let i = 0;
      while (running()) {
        const t = Date.now();
        const bad = ++i % 20 === 0; // 5 % of reads with an expired token: the refusal path
        const o = await request(collection, { ca, token: bad ? expired : token, agent });
        counts.requests++;
        if (bad && o.status === 401) counts.refusedAsExpected++;
        else if (o.status !== 200) fail(`read ${n}: ${o.status ?? o.error?.message}`);
        await sleep(Math.max(0, readIntervalMs - (Date.now() - t)));
      }
    };

    const churnLoop = async () => {
      let i = 0;
      while (running()) {
        const name = `soak-${i++ % churnNames}`;
        const url = `${collection}/${name}`;
        const steps: [string, string, string | undefined, number][] = [
          [
            "POST",
            collection,
            JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { n: "0" } }),
            201,
          ],
          [
            "PUT",
            url,
            JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { n: String(i) } }),
            200,
          ],
          ["DELETE", url, undefined, 200],
        ];
        for (const [method, target, body, expected] of steps) {
          const o = await request(target, { ca, token, agent, method, body });
          counts.requests++;
          if (o.status !== expected)
            fail(`${method} ${name}: ${o.status ?? o.error?.message} ${o.body?.slice(0, 200)}`);
          await sleep(50);
        }
      }
    };

    // A watch lives 3–20 s, is closed by the client, and a new one takes its place.
    const watchLoop = async (n: number) => {
      while (running()) {
        const lifetime = 3_000 + Math.random() * 17_000;
        counts.watchesOpened++;
        await new Promise<void>((resolve) => {
          const req = https.get(
            `${collection}?watch=true`,
            { ca, agent: false, headers: { authorization: `Bearer ${token}` } },
            (res) => {
              if (res.statusCode !== 200) fail(`watch ${n}: ${res.statusCode}`);
              res.on("data", (chunk: Buffer) => {
                counts.watchEvents += chunk.toString().split("\n").filter(Boolean).length;
              });
              res.on("error", () => {});
            },
          );
          const timer = setTimeout(
            () => {
              req.destroy();
              resolve();
            },
            Math.min(lifetime, Math.max(0, deadline - Date.now())),
          );
          req.on("error", (error) => {
            if (!req.destroyed || error.message !== "socket hang up") fail(`watch ${n}: ${error.message}`);
          });
          req.on("close", () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    };

    const samples: Sample[] = [];
    const sampler = (async () => {
      while (running()) {
        samples.push(await sample(gateway, started));
        await sleep(sampleEveryMs);
      }
    })();

    await Promise.all([
      ...Array.from({ length: readLoops }, (_, n) => readLoop(n)),
      churnLoop(),
      ...Array.from({ length: watches }, (_, n) => watchLoop(n)),
      sampler,
    ]);
    agent.destroy();
    await sleep(2_000); // closed watches and connections settle
    const final = await sample(gateway, started);

    const afterWarmUp = samples.filter((s) => s.atMs >= warmUpMs);
    const baseline = afterWarmUp.slice(0, 3);
    const end = [...afterWarmUp.slice(-2), final];
    const rssStart = median(baseline.map((s) => s.rssMb));
    const rssEnd = median(end.map((s) => s.rssMb));
    const fdsStart = median(baseline.map((s) => s.fds));
    const fdsEnd = final.fds;
    const rssMax = Math.max(...samples.map((s) => s.rssMb));
    const seconds = (Date.now() - started) / 1000;
    console.log(
      [
        `soak: ${minutes} min, ${counts.requests} requests (${(counts.requests / seconds).toFixed(0)}/s), ${counts.failures} failures, ${counts.refusedAsExpected} refused as expected (expired token)`,
        `  watches opened ${counts.watchesOpened}, events ${counts.watchEvents}; open watches at the end ${final.openWatches}`,
        `  RSS after warm-up ${rssStart.toFixed(1)} MB, at the end ${rssEnd.toFixed(1)} MB (max ${rssMax.toFixed(1)} MB, first ${samples[0]?.rssMb.toFixed(1)} MB)`,
        `  fds after warm-up ${fdsStart}, at the end ${fdsEnd} (max ${Math.max(...samples.map((s) => s.fds))})`,
        `  samples: ${samples.map((s) => `${Math.round(s.atMs / 1000)}s:${s.rssMb.toFixed(0)}MB/${s.fds}fd`).join(" ")}`,
      ].join("\n"),
    );

    assert.deepEqual(failures, [], `${counts.failures} failures`);
    assert.ok(counts.requests > minutes * 60 * 20, `only ${counts.requests} requests`);
    assert.ok(counts.watchEvents > 0);
    assert.ok(
      rssEnd < rssStart * 1.25 || rssEnd - rssStart < 30,
      `RSS grew from ${rssStart.toFixed(1)} MB to ${rssEnd.toFixed(1)} MB`,
    );
    assert.ok(fdsEnd <= fdsStart + 10, `open descriptors grew from ${fdsStart} to ${fdsEnd}`);
    assert.equal(final.openWatches, 0, "every closed watch was released");
    assert.equal(gateway.child.exitCode, null);
  });
});
