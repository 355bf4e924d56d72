// The CLI's own cost: how long `kube-oidc-gateway --help` (and two other commands that do little)
// takes and how much memory it peaks at, and how much a `serve` that has started and serves
// nothing holds. Issue 19's targets: --help under 150 ms and 50 MB; issue 21's: idle serve RSS
// ≤ 60 MiB (Node 24 alone idles at ~42 MiB, and with node:http, https, http2 and tls loaded and a
// TLS server listening at ~57 MiB: most of the budget is Node's own).
//
// `npm run bench` runs it as the "cli" section (its verdicts join the report's targets); to run
// only this section (no nginx, no kube-oidc-proxy, no load): `node bench/cli-startup.ts`, or
// `npm run bench -- --only=cli`. `--no-serve` also skips the idle serve (and so the test bed).
//
// What runs is what a user runs: the package's executable, dist/cli/kube-oidc-gateway.js (built
// from this checkout by bench/setups/gateway.ts's build, as the other sections do), with the
// project's Node, as a fresh process per run. Wall time is the parent's: spawn to exit, process
// start-up included. Peak RSS is the child's own `process.resourceUsage().maxRSS` at exit,
// written by a two-line hook (--import of a data: URL, loading only node:fs) to a pipe.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { startTestBed, type TestBed } from "../testbed/bed.ts";
import { prepareGatewayCredentials } from "../testbed/gateway.ts";
import { repoRoot } from "../testbed/paths.ts";
import { peakRssBytes, rssBytes, stopAllProcesses } from "./lib/processes.ts";
import { startGatewayChild } from "./setups/gateway.ts";

export interface CliCell {
  readonly command: string;
  readonly runs: number;
  readonly medianMs: number;
  readonly maxMs: number;
  /** The median over the runs of each run's peak RSS. */
  readonly peakRssBytes: number;
}

export interface IdleServe {
  /** RSS after start-up, once ready and left alone for `settleMs`. */
  readonly rssBytes: number;
  /** The highest RSS it reached until then (start-up included). */
  readonly peakRssBytes: number;
  readonly settleMs: number;
}

export interface CliVerdict {
  readonly target: string;
  readonly met: boolean | "not measured";
  readonly detail: string;
}

export interface CliResults {
  readonly node: string;
  readonly cells: readonly CliCell[];
  readonly idleServe?: IdleServe;
  readonly targets: readonly CliVerdict[];
}

const bin = join(repoRoot, "dist", "cli", "kube-oidc-gateway.js");
const commands: readonly (readonly string[])[] = [["--help"], ["--version"], ["lint", "--help"]];
const peakHook = `data:text/javascript,${encodeURIComponent(
  'import { writeSync } from "node:fs"; process.on("exit", () => writeSync(3, String(process.resourceUsage().maxRSS)));',
)}`;

/** One run of the executable: wall time and the child's peak RSS. */
function runOnce(args: readonly string[]): Promise<{ ms: number; peakRssBytes: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [`--import=${peakHook}`, bin, ...args], {
      stdio: ["ignore", "ignore", "pipe", "pipe"],
    });
    let stderr = "";
    let peak = "";
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    (child.stdio[3] as NodeJS.ReadableStream).setEncoding("utf8").on("data", (d: string) => {
      peak += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - started;
      if (code !== 0) reject(new Error(`kube-oidc-gateway ${args.join(" ")} exited ${code}: ${stderr.trim()}`));
      else resolve({ ms, peakRssBytes: Number(peak) * 1024 });
    });
  });
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
};

export async function measureCommands(runs: number): Promise<CliCell[]> {
  const cells: CliCell[] = [];
  for (const args of commands) {
    await runOnce(args); // warm the file cache
    const samples: { ms: number; peakRssBytes: number }[] = [];
    for (let i = 0; i < runs; i++) samples.push(await runOnce(args));
    cells.push({
      command: `kube-oidc-gateway ${args.join(" ")}`,
      runs,
      medianMs: median(samples.map((s) => s.ms)),
      maxMs: Math.max(...samples.map((s) => s.ms)),
      peakRssBytes: median(samples.map((s) => s.peakRssBytes)),
    });
  }
  return cells;
}

/** A `serve` on the bed that answers nothing: its RSS once ready and settled. */
export async function measureIdleServe(bed: TestBed, settleMs = 5_000): Promise<IdleServe> {
  const child = await startGatewayChild({
    bed,
    name: "gateway-idle",
    credentials: await prepareGatewayCredentials(bed, "gateway-idle"),
  });
  try {
    await sleep(settleMs);
    return { rssBytes: rssBytes(child.pid), peakRssBytes: peakRssBytes(child.pid), settleMs };
  } finally {
    await child.stop();
  }
}

const idleTarget = "idle serve RSS ≤ 60 MiB";

export function judgeCli(cells: readonly CliCell[], idleServe: IdleServe | undefined): CliVerdict[] {
  const help = cells.find((c) => c.command === "kube-oidc-gateway --help");
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  return [
    help
      ? {
          target: "kube-oidc-gateway --help under 150 ms",
          met: help.medianMs < 150,
          detail: `median ${help.medianMs.toFixed(0)} ms, slowest ${help.maxMs.toFixed(0)} ms of ${help.runs} runs`,
        }
      : { target: "kube-oidc-gateway --help under 150 ms", met: "not measured", detail: "" },
    help
      ? {
          target: "kube-oidc-gateway --help peak RSS under 50 MB",
          met: help.peakRssBytes < 50e6,
          detail: `median peak ${(help.peakRssBytes / 1e6).toFixed(1)} MB (${mib(help.peakRssBytes)} MiB)`,
        }
      : { target: "kube-oidc-gateway --help peak RSS under 50 MB", met: "not measured", detail: "" },
    idleServe
      ? {
          target: idleTarget,
          met: idleServe.rssBytes <= 60 * 2 ** 20,
          detail: `${mib(idleServe.rssBytes)} MiB after ${idleServe.settleMs / 1000} s ready and idle; peak ${mib(idleServe.peakRssBytes)} MiB`,
        }
      : { target: idleTarget, met: "not measured", detail: "skipped (--no-serve)" },
  ];
}

export async function measureCli(options: {
  runs: number;
  bed?: TestBed;
  log: (line: string) => void;
}): Promise<CliResults> {
  // The idle serve first: starting it builds dist/ if this run has not yet (setups/gateway.ts).
  let idleServe: IdleServe | undefined;
  if (options.bed) {
    options.log("bench: idle serve RSS");
    idleServe = await measureIdleServe(options.bed);
  }
  options.log(`bench: CLI start-up, ${options.runs} runs per command`);
  const cells = await measureCommands(options.runs);
  return { node: process.version, cells, ...(idleServe ? { idleServe } : {}), targets: judgeCli(cells, idleServe) };
}

export function renderCli(results: CliResults): string {
  const lines = [`CLI start-up (${results.node}; dist/cli/kube-oidc-gateway.js, a fresh process per run)`];
  for (const c of results.cells) {
    lines.push(
      `  ${c.command.padEnd(34)} median ${c.medianMs.toFixed(0).padStart(4)} ms  slowest ${c.maxMs.toFixed(0).padStart(4)} ms  peak RSS ${(c.peakRssBytes / 1e6).toFixed(1)} MB  (${c.runs} runs)`,
    );
  }
  if (results.idleServe) {
    const s = results.idleServe;
    lines.push(
      `  idle serve                         RSS ${(s.rssBytes / 2 ** 20).toFixed(1)} MiB after ${s.settleMs / 1000} s ready, peak ${(s.peakRssBytes / 2 ** 20).toFixed(1)} MiB`,
    );
  }
  lines.push("Targets:");
  for (const t of results.targets) {
    const met = t.met === true ? "met" : t.met === false ? "MISSED" : "-";
    lines.push(`  ${met.padEnd(6)} ${t.target}: ${t.detail}`);
  }
  return lines.join("\n");
}

/** `node bench/cli-startup.ts [--runs=N] [--no-serve]`: this section alone. */
async function standalone(): Promise<number> {
  const { values } = parseArgs({
    options: { runs: { type: "string", default: "15" }, "no-serve": { type: "boolean", default: false } },
  });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  let bed: TestBed | undefined;
  try {
    // With serve, starting it builds dist/ (setups/gateway.ts); without, build it here.
    if (values["no-serve"]) await buildDist();
    else {
      log("bench: starting the test bed for the idle serve");
      bed = await startTestBed({ log });
    }
    const results = await measureCli({ runs: Number(values.runs), ...(bed ? { bed } : {}), log });
    process.stdout.write(`${renderCli(results)}\n`);
    return results.targets.some((t) => t.met === false) ? 1 : 0;
  } finally {
    await stopAllProcesses();
    await bed?.stop().catch(() => {});
  }
}

function buildDist(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, "scripts", "build-package.ts")], { stdio: "inherit" });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`build failed (exit ${code})`))));
  });
}

if (import.meta.main) {
  try {
    process.exitCode = await standalone();
  } catch (error) {
    process.stderr.write(`bench: failed: ${(error as Error).stack ?? error}\n`);
    process.exitCode = 2;
  }
}
