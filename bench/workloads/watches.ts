// Many concurrent watches: N clients each watch ConfigMaps of one namespace through a proxy
// (or directly). Then ConfigMaps are created and the time until every watch saw each one is
// the delivery delay (p50/p99 over all watches and events). The proxy's RSS before and with
// the watches open gives its memory per watch.
import { join } from "node:path";
import { httpsRequest } from "../../testbed/http.ts";
import { percentile } from "../lib/http-load.ts";
import { rssBytes, spawnTracked, stopProcess } from "../lib/processes.ts";
import { benchDir } from "../lib/workers.ts";
import type { Setup, SetupName } from "../setups/setup.ts";

export const watchNamespace = "bench-watch";

export interface WatchCell {
  readonly setup: SetupName;
  readonly watches: number;
  /** "http/1.1": a TLS connection per watch; "h2": `perConnection` watches per HTTP/2 connection. */
  readonly transport: string;
  readonly opened: number;
  readonly failed: number;
  readonly firstError?: string;
  readonly openSeconds: number;
  /** The proxy's RSS before opening and with every watch open (bytes; 0 for direct). */
  readonly rssBefore: number;
  readonly rssWithWatches: number;
  readonly rssPerWatch: number;
  readonly deliveryP50Ms: number;
  readonly deliveryP99Ms: number;
  readonly deliveryMaxMs: number;
  readonly missed: number;
}

interface WatchOptions {
  /** A setup, or a function starting a fresh one for each cell (stopped after it: clean RSS). */
  readonly setups: readonly (Setup | (() => Promise<Setup>))[];
  readonly counts: readonly number[];
  /** 1: HTTP/1.1, a connection per watch; n > 1: HTTP/2 with n watches per connection. */
  readonly perConnection: readonly number[];
  readonly events: number;
  readonly token: string;
  readonly caFile: string;
  readonly apiUrl: string;
  readonly adminToken: string;
  readonly caPem: string;
  readonly log: (line: string) => void;
}

function nextMessage<T>(child: ReturnType<typeof spawnTracked>, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`watch clients did not answer within ${timeoutMs} ms`)), timeoutMs);
    child.once("message", (message) => {
      clearTimeout(timer);
      resolve(message as T);
    });
  });
}

export async function watches(options: WatchOptions): Promise<WatchCell[]> {
  const cells: WatchCell[] = [];
  let serial = 0;
  for (const count of options.counts) {
    for (const perConnection of options.perConnection) {
      const transport = perConnection > 1 ? `h2 ×${perConnection}/conn` : "http/1.1";
      for (const setupOrStart of options.setups) {
        const setup = typeof setupOrStart === "function" ? await setupOrStart() : setupOrStart;
        const pids = setup.endpoints.api.pids;
        const rss = () => pids().reduce((sum, pid) => sum + rssBytes(pid), 0);
        const child = spawnTracked(process.execPath, [join(benchDir, "lib", "watch-clients.ts")], {
          stdio: ["ignore", "inherit", "inherit", "ipc"],
        });
        try {
          const rssBefore = rss();
          const started = performance.now();
          child.send({
            open: {
              url: `${setup.endpoints.api.url}/api/v1/namespaces/${watchNamespace}/configmaps?watch=1`,
              caFile: options.caFile,
              token: options.token,
              count,
              perConnection,
            },
          });
          const opened = await nextMessage<{ opened: number; failed: number; firstError?: string }>(child, 180_000);
          const openSeconds = (performance.now() - started) / 1000;
          await new Promise((r) => setTimeout(r, 2000)); // let the proxy settle
          const rssWithWatches = rss();
          const delays: number[] = [];
          let missed = 0;
          for (let e = 0; e < options.events; e++) {
            const name = `ev-${process.pid}-${serial++}`;
            child.send({ expect: name, timeoutMs: 20_000 });
            await nextMessage(child, 10_000);
            const t0 = performance.timeOrigin + performance.now();
            const created = await httpsRequest(`${options.apiUrl}/api/v1/namespaces/${watchNamespace}/configmaps`, {
              method: "POST",
              ca: options.caPem,
              headers: { authorization: `Bearer ${options.adminToken}`, "content-type": "application/json" },
              body: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { k: "v" } }),
            });
            if (created.status !== 201) throw new Error(`creating ConfigMap ${name}: HTTP ${created.status}`);
            const result = await nextMessage<{ seen: number[]; missing: number }>(child, 30_000);
            for (const t of result.seen) delays.push(t - t0);
            missed += result.missing;
            await new Promise((r) => setTimeout(r, 300));
          }
          delays.sort((a, b) => a - b);
          const cell: WatchCell = {
            setup: setup.name,
            watches: count,
            transport,
            opened: opened.opened,
            failed: opened.failed,
            ...(opened.firstError ? { firstError: opened.firstError } : {}),
            openSeconds,
            rssBefore,
            rssWithWatches,
            rssPerWatch: opened.opened ? (rssWithWatches - rssBefore) / opened.opened : 0,
            deliveryP50Ms: percentile(delays, 50),
            deliveryP99Ms: percentile(delays, 99),
            deliveryMaxMs: delays.at(-1) ?? Number.NaN,
            missed,
          };
          options.log(
            `  watches=${count} ${transport} ${setup.name.padEnd(15)} opened ${cell.opened} (failed ${cell.failed}${cell.firstError ? `: ${cell.firstError}` : ""}) in ${openSeconds.toFixed(1)} s  delivery p50 ${cell.deliveryP50Ms.toFixed(1)} ms p99 ${cell.deliveryP99Ms.toFixed(1)} ms  missed ${missed}${pids().length ? `  RSS ${(rssWithWatches / 2 ** 20).toFixed(0)} MiB (${(cell.rssPerWatch / 1024).toFixed(1)} KiB/watch)` : ""}`,
          );
          cells.push(cell);
        } finally {
          if (child.connected) child.send({ close: true });
          await stopProcess(child, 5000);
          if (typeof setupOrStart === "function") await setup.stop();
        }
      }
    }
  }
  return cells;
}
