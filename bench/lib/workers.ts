// Starts the benchmark's client processes (load generators, watchers) and collects their result.
import { join } from "node:path";
import type { LoadResult, LoadSpec } from "./http-load.ts";
import { spawnTracked, stopProcess } from "./processes.ts";

export const benchDir = join(import.meta.dirname, "..");

/** Runs a worker script to completion and parses the JSON line it prints. */
export async function runWorker<T>(script: string, input: unknown, timeoutMs: number): Promise<T> {
  const child = spawnTracked(process.execPath, [join(benchDir, "lib", script), JSON.stringify(input)]);
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const timer = setTimeout(() => void stopProcess(child, 1000), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearTimeout(timer);
  const line = out.trim().split("\n").pop();
  if (code !== 0 || !line) throw new Error(`${script} failed (exit ${code}): ${err.trim().slice(-2000)}`);
  return JSON.parse(line) as T;
}

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return runWorker<LoadResult>("http-load.ts", spec, spec.warmupMs + spec.durationMs + 60_000);
}
