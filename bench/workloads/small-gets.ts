// Small GETs at fixed concurrency: each setup measured in turn for the same cell, the order
// rotated every round so no setup always runs on a warmer or cooler machine.
import { metricSum } from "../lib/gateway-metrics.ts";
import type { LoadResult } from "../lib/http-load.ts";
import { type ProcessUsage, whileSampling } from "../lib/sampler.ts";
import { runLoad } from "../lib/workers.ts";
import type { Setup, SetupName, Target } from "../setups/setup.ts";

export const smallGetPath = "/api/v1/namespaces/default/configmaps/x";

export interface GetCell {
  readonly target: Target;
  readonly connections: number;
  readonly setup: SetupName;
  readonly round: number;
  readonly result: LoadResult;
  readonly usage: ProcessUsage;
  /**
   * The gateway's garbage collection over the cell (warm-up included, like its CPU), in cores:
   * seconds of GC per second of wall time, from its nodejs_gc_duration_seconds_sum. Gateway setups only.
   */
  readonly gcCores?: number;
}

/** Seconds spent in GC so far (every kind), from the gateway's Prometheus text; undefined if unreadable. */
export function gcSeconds(metricsUrl: string): Promise<number | undefined> {
  return metricSum(metricsUrl, "nodejs_gc_duration_seconds_sum");
}

export interface SmallGetsOptions {
  readonly setups: readonly Setup[];
  readonly targets: readonly Target[];
  readonly concurrencies: readonly number[];
  readonly rounds: number;
  readonly token: string;
  readonly caFile: string;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly log: (line: string) => void;
}

export async function smallGets(options: SmallGetsOptions): Promise<GetCell[]> {
  const cells: GetCell[] = [];
  for (const target of options.targets) {
    for (const connections of options.concurrencies) {
      for (let round = 0; round < options.rounds; round++) {
        const here = options.setups.filter((s) => !s.targets || s.targets.includes(target));
        const order = here.map((_, i) => here[(i + round) % here.length] as Setup);
        for (const setup of order) {
          const endpoint = setup.endpoints[target];
          const gcBefore = endpoint.metricsUrl ? await gcSeconds(endpoint.metricsUrl) : undefined;
          const started = performance.now();
          const { value: result, usage } = await whileSampling(endpoint.pids, () =>
            runLoad({
              url: endpoint.url + smallGetPath,
              caFile: options.caFile,
              connections,
              warmupMs: options.warmupMs,
              durationMs: options.durationMs,
              token: options.token,
              ...(endpoint.headers ? { headers: endpoint.headers } : {}),
            }),
          );
          const wallSeconds = (performance.now() - started) / 1000;
          const gcAfter = endpoint.metricsUrl ? await gcSeconds(endpoint.metricsUrl) : undefined;
          const gcCores =
            gcBefore !== undefined && gcAfter !== undefined ? (gcAfter - gcBefore) / wallSeconds : undefined;
          options.log(
            `  ${target} c=${connections} ${setup.name.padEnd(15)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50Ms.toFixed(3)} ms  p99 ${result.p99Ms.toFixed(3)} ms  cpu ${(usage.cpuCores * 100).toFixed(0)}%${gcCores === undefined ? "" : ` (gc ${(gcCores * 100).toFixed(1)}%)`}  rss ${(usage.peakRss / 2 ** 20).toFixed(0)} MiB${result.errors + result.non2xx ? `  errors ${result.errors + result.non2xx} (${result.firstError})` : ""}`,
          );
          cells.push({
            target,
            connections,
            setup: setup.name,
            round,
            result,
            usage,
            ...(gcCores === undefined ? {} : { gcCores }),
          });
        }
      }
    }
  }
  return cells;
}

/** One cell per (target, connections, setup): the round with the median throughput. */
export function medianCells(cells: readonly GetCell[]): GetCell[] {
  const groups = new Map<string, GetCell[]>();
  for (const cell of cells) {
    const key = `${cell.target}/${cell.connections}/${cell.setup}`;
    groups.set(key, [...(groups.get(key) ?? []), cell]);
  }
  return [...groups.values()].map((group) => {
    const sorted = [...group].sort((a, b) => a.result.rps - b.result.rps);
    return sorted[Math.floor((sorted.length - 1) / 2)] as GetCell;
  });
}
