// More than one core: the gateway as one process against `serve --workers=N`, small GETs on the
// static stand-in. The load comes from wrk (Debian's package: C, one thread) rather than the
// project's Node load generator, which on a 2-core machine takes most of the second core itself:
// a second gateway process can only gain what the load generator and the upstream leave free.
// wrk does not verify the proxy's certificate; what is measured is throughput and latency.
import { execFile } from "node:child_process";
import { ensureDebianPackage } from "../lib/debian.ts";
import { type ProcessUsage, whileSampling } from "../lib/sampler.ts";
import type { Setup, SetupName } from "../setups/setup.ts";
import { smallGetPath } from "./small-gets.ts";

export interface CoresCell {
  readonly setup: SetupName;
  readonly round: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly usage: ProcessUsage;
}

/** wrk's latency as milliseconds ("512.00us", "1.20ms", "2.01s"). */
function ms(text: string | undefined): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(text ?? "");
  if (!match) return Number.NaN;
  const value = Number(match[1]);
  return match[2] === "us" ? value / 1000 : match[2] === "s" ? value * 1000 : value;
}

function wrk(binary: string, url: string, token: string, connections: number, seconds: number) {
  return new Promise<{ rps: number; p50Ms: number; p99Ms: number }>((resolve, reject) => {
    execFile(
      binary,
      ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency", "-H", `Authorization: Bearer ${token}`, url],
      { timeout: (seconds + 30) * 1000 },
      (error, stdout) => {
        if (error) return reject(error);
        const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
        const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1];
        if (non2xx) return reject(new Error(`wrk saw ${non2xx} answers other than 200 from ${url}`));
        resolve({
          rps,
          p50Ms: ms(/^\s+50%\s+(\S+)/m.exec(stdout)?.[1]),
          p99Ms: ms(/^\s+99%\s+(\S+)/m.exec(stdout)?.[1]),
        });
      },
    );
  });
}

export async function cores(options: {
  readonly setups: readonly Setup[];
  readonly token: string;
  readonly connections: number;
  readonly rounds: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly log: (line: string) => void;
}): Promise<CoresCell[]> {
  const binary = ensureDebianPackage("wrk", ["/usr/bin/wrk"], options.log);
  const seconds = Math.max(1, Math.round(options.durationMs / 1000));
  const warmup = Math.max(1, Math.round(options.warmupMs / 1000));
  const cells: CoresCell[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    // Rotated each round, so no setup always runs first or last on a machine that warms up.
    const order = options.setups.map((_, i) => options.setups[(i + round - 1) % options.setups.length] as Setup);
    for (const setup of order) {
      const endpoint = setup.endpoints.static;
      const url = endpoint.url + smallGetPath;
      await wrk(binary, url, options.token, options.connections, warmup);
      const { value, usage } = await whileSampling(endpoint.pids, () =>
        wrk(binary, url, options.token, options.connections, seconds),
      );
      options.log(
        `  cores round ${round} ${setup.name.padEnd(16)} ${value.rps.toFixed(0).padStart(6)} req/s  p50 ${value.p50Ms.toFixed(2)} ms  p99 ${value.p99Ms.toFixed(2)} ms  cpu ${(usage.cpuCores * 100).toFixed(0)}%`,
      );
      cells.push({ setup: setup.name, round, ...value, usage });
    }
  }
  return cells;
}
