// Many concurrent watches: N clients each watch ConfigMaps of one namespace through a proxy
// (or directly). Then ConfigMaps are created and the time until every watch saw each one is
// the delivery delay (p50/p99 over all watches and events). The proxy's RSS before and with
// the watches open gives its memory per watch; its RSS a while (a minute by default) after the
// watch clients have gone says whether it gives that memory back (issue 21: within 10% of the
// baseline a minute after 1,000 watches close).
import { join } from "node:path";
import { httpsRequest } from "../../testbed/http.ts";
import { metricSum } from "../lib/gateway-metrics.ts";
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
  /** The proxy's RSS `afterCloseSeconds` after the watch clients closed (bytes; 0 for direct). */
  readonly rssAfterClose: number;
  readonly afterCloseSeconds: number;
  /**
   * The gateway's open-watches gauge when the after-close RSS was read: 0 means every watch had
   * ended on its side too. Absent for proxies without the gauge (and in older results).
   */
  readonly openWatchesAfterClose?: number;
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
  /** How long after the watches close to read the proxy's RSS again (ms); default 60 s. */
  readonly afterCloseMs?: number;
}

/** The verdict on one of the issue's targets, in bench/report.ts's shape. */
export interface WatchVerdict {
  readonly target: string;
  readonly met: boolean | "not measured";
  readonly detail: string;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/**
 * Issue 21's watch memory targets, judged on the gateway's cells of this run: RSS back within
 * 10% of its baseline a minute after 1,000 watches close, and 5,000 watches ≤ 250 MB (one
 * verdict per transport measured; "not measured" when no cell had that many watches).
 */
export function watchTargets(cells: readonly WatchCell[]): WatchVerdict[] {
  const verdicts: WatchVerdict[] = [];
  const returned = "RSS back within 10% of its baseline a minute after 1,000 watches close";
  const w1k = cells.filter((w) => w.setup === "gateway" && w.watches === 1000);
  if (w1k.length === 0)
    verdicts.push({ target: returned, met: "not measured", detail: "no 1,000-watch run (--watches)" });
  for (const w of w1k) {
    const waited = w.afterCloseSeconds >= 60;
    // Watches the gateway still counted open make the reading a "with watches" one, not "after".
    const stillOpen = w.openWatchesAfterClose ?? 0;
    verdicts.push({
      target: `${returned} (${w.transport})`,
      met: waited && stillOpen === 0 ? w.rssAfterClose <= 1.1 * w.rssBefore && w.failed === 0 : "not measured",
      detail: `${mib(w.rssBefore)} before, ${mib(w.rssWithWatches)} with ${w.opened} open (${w.failed} failed), ${mib(w.rssAfterClose)} ${w.afterCloseSeconds.toFixed(0)} s after they closed: ${((w.rssAfterClose / w.rssBefore - 1) * 100).toFixed(0)}% above the baseline${waited ? "" : " (waited less than a minute)"}${stillOpen > 0 ? ` (the gateway still counted ${stillOpen} watches open)` : w.openWatchesAfterClose === 0 ? " (the gateway counted none open)" : ""}`,
    });
  }
  const many = "5,000 watches ≤ 250 MB RSS";
  const w5k = cells.filter((w) => w.setup === "gateway" && w.watches >= 5000);
  if (w5k.length === 0) verdicts.push({ target: many, met: "not measured", detail: "no 5,000-watch run (--watches)" });
  for (const w of w5k) {
    verdicts.push({
      target: `${many} (${w.transport})`,
      met: w.rssWithWatches <= 250e6 && w.failed === 0,
      detail: `${mib(w.rssWithWatches)} (${(w.rssWithWatches / 1e6).toFixed(0)} MB) with ${w.opened} watches open, ${w.failed} failed`,
    });
  }
  return verdicts;
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

// ConfigMap names are unique per process: a second call (another workload's cells) must not
// create a name the first one did (HTTP 409).
let serial = 0;

export async function watches(options: WatchOptions): Promise<WatchCell[]> {
  const cells: WatchCell[] = [];
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
          // The clients go (their process exits, so every connection closes), then the proxy is
          // left alone for afterCloseMs before its RSS is read again.
          const exited = new Promise((r) => child.once("exit", r));
          child.send({ close: true });
          await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
          await stopProcess(child, 5000);
          const afterCloseMs = pids().length ? (options.afterCloseMs ?? 60_000) : 0;
          const closedAt = performance.now();
          // The gateway must have seen every watch end before "after close" means anything: its
          // own gauge says so (waited for within the after-close time, which starts at the close).
          const metricsUrl = setup.endpoints.api.metricsUrl;
          const openWatches = () => (metricsUrl ? metricSum(metricsUrl, "kube_oidc_gateway_open_watches") : undefined);
          while (metricsUrl && performance.now() - closedAt < afterCloseMs && ((await openWatches()) ?? 0) > 0) {
            await new Promise((r) => setTimeout(r, 500));
          }
          await new Promise((r) => setTimeout(r, Math.max(0, afterCloseMs - (performance.now() - closedAt))));
          const openWatchesAfterClose = await openWatches();
          const rssAfterClose = rss();
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
            rssAfterClose,
            afterCloseSeconds: afterCloseMs / 1000,
            ...(openWatchesAfterClose === undefined ? {} : { openWatchesAfterClose }),
            deliveryP50Ms: percentile(delays, 50),
            deliveryP99Ms: percentile(delays, 99),
            deliveryMaxMs: delays.at(-1) ?? Number.NaN,
            missed,
          };
          options.log(
            `  watches=${count} ${transport} ${setup.name.padEnd(15)} opened ${cell.opened} (failed ${cell.failed}${cell.firstError ? `: ${cell.firstError}` : ""}) in ${openSeconds.toFixed(1)} s  delivery p50 ${cell.deliveryP50Ms.toFixed(1)} ms p99 ${cell.deliveryP99Ms.toFixed(1)} ms  missed ${missed}${pids().length ? `  RSS ${(rssWithWatches / 2 ** 20).toFixed(0)} MiB (${(cell.rssPerWatch / 1024).toFixed(1)} KiB/watch), before ${(rssBefore / 2 ** 20).toFixed(0)} MiB, ${afterCloseMs / 1000} s after close ${(rssAfterClose / 2 ** 20).toFixed(0)} MiB${openWatchesAfterClose === undefined ? "" : ` (${openWatchesAfterClose} watches still open on the gateway)`}` : ""}`,
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
