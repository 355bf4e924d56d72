// Upgrade streams: an exec-like SPDY/3.1 upgrade to the echoing stand-in, bytes pushed through
// and echoed back; throughput through each proxy against direct, in the same run.
import { type ProcessUsage, whileSampling } from "../lib/sampler.ts";
import type { UpgradeResult, UpgradeSpec } from "../lib/upgrade-load.ts";
import { runWorker } from "../lib/workers.ts";
import type { Setup, SetupName } from "../setups/setup.ts";

export const execPath = "/api/v1/namespaces/default/pods/echo/exec?command=cat&stdin=true&stdout=true";

export interface UpgradeCell {
  readonly setup: SetupName;
  readonly streams: number;
  readonly result: UpgradeResult;
  readonly usage: ProcessUsage;
}

export async function upgradeThroughput(options: {
  readonly setups: readonly Setup[];
  readonly streams: readonly number[];
  readonly token: string;
  readonly caFile: string;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly log: (line: string) => void;
}): Promise<UpgradeCell[]> {
  const cells: UpgradeCell[] = [];
  for (const streams of options.streams) {
    for (const setup of options.setups) {
      const endpoint = setup.endpoints.static;
      const spec: UpgradeSpec = {
        url: endpoint.url + execPath,
        caFile: options.caFile,
        token: options.token,
        streams,
        warmupMs: options.warmupMs,
        durationMs: options.durationMs,
      };
      const { value: result, usage } = await whileSampling(endpoint.pids, () =>
        runWorker<UpgradeResult>("upgrade-load.ts", spec, spec.warmupMs + spec.durationMs + 60_000),
      );
      options.log(
        `  upgrade streams=${streams} ${setup.name.padEnd(15)} ${result.mbPerSecond.toFixed(1).padStart(7)} MB/s  cpu ${(usage.cpuCores * 100).toFixed(0)}%`,
      );
      cells.push({ setup: setup.name, streams, result, usage });
    }
  }
  return cells;
}
