// Authentication cost: the same small GET through a proxy with one token for every request
// (its identity cache answers) and with a token never seen before on every request (full JWT
// verification each time), on the static stand-in so nothing else differs.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { LoadResult } from "../lib/http-load.ts";
import { type ProcessUsage, whileSampling } from "../lib/sampler.ts";
import { runLoad } from "../lib/workers.ts";
import type { Setup, SetupName } from "../setups/setup.ts";
import { smallGetPath } from "./small-gets.ts";

export interface AuthCell {
  readonly setup: SetupName;
  readonly connections: number;
  readonly tokens: "cached" | "fresh";
  readonly result: LoadResult;
  readonly usage: ProcessUsage;
}

export interface AuthCostOptions {
  readonly setups: readonly Setup[];
  readonly concurrencies: readonly number[];
  readonly token: string;
  /** Mints a distinct valid token (a new jti) per call. */
  readonly mint: () => string;
  readonly freshTokens: number;
  readonly dir: string;
  readonly caFile: string;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly log: (line: string) => void;
}

export async function authCost(options: AuthCostOptions): Promise<AuthCell[]> {
  const cells: AuthCell[] = [];
  for (const setup of options.setups) {
    for (const connections of options.concurrencies) {
      for (const tokens of ["cached", "fresh"] as const) {
        let tokenFile: string | undefined;
        if (tokens === "fresh") {
          // A new file per cell: no token is ever seen twice by the proxy (unless the file runs out).
          tokenFile = join(options.dir, `fresh-tokens-${setup.name}-${connections}.txt`);
          const started = performance.now();
          await writeFile(tokenFile, Array.from({ length: options.freshTokens }, options.mint).join("\n"));
          options.log(
            `  minted ${options.freshTokens} tokens in ${((performance.now() - started) / 1000).toFixed(1)} s`,
          );
        }
        const endpoint = setup.endpoints.static;
        const { value: result, usage } = await whileSampling(endpoint.pids, () =>
          runLoad({
            url: endpoint.url + smallGetPath,
            caFile: options.caFile,
            connections,
            warmupMs: options.warmupMs,
            durationMs: options.durationMs,
            ...(tokenFile ? { tokenFile } : { token: options.token }),
          }),
        );
        options.log(
          `  ${setup.name} c=${connections} ${tokens.padEnd(6)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50Ms.toFixed(3)} ms  p99 ${result.p99Ms.toFixed(3)} ms  cpu ${(usage.cpuCores * 100).toFixed(0)}%${result.tokenReuses ? `  (${result.tokenReuses} token reuses: raise --fresh-tokens)` : ""}${result.non2xx + result.errors ? `  errors ${result.non2xx + result.errors} (${result.firstError})` : ""}`,
        );
        cells.push({ setup: setup.name, connections, tokens, result, usage });
      }
    }
  }
  return cells;
}
