// Every process the benchmark starts goes through here: each is stopped at the end, on an
// error and on Ctrl-C, by its own pid. It also samples what the report needs of a process:
// resident memory (current and peak) and CPU time, read from /proc.
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { readFileSync } from "node:fs";

const running = new Set<ChildProcess>();

export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
  running.add(child);
  child.once("exit", () => running.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function stopAllProcesses(): Promise<void> {
  await Promise.all([...running].map((child) => stopProcess(child)));
}

/** Last resort (process exit): SIGKILL whatever is left, synchronously. */
export function killAllProcessesNow(): void {
  for (const child of running) child.kill("SIGKILL");
}

/** Resolves with the first stdout line matching `pattern` (e.g. a port announcement). */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms`)), timeoutMs);
    const onData = (data: Buffer) => {
      buffer += data.toString();
      const match = pattern.exec(buffer);
      if (match) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        resolve(match);
      }
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`process exited (${code}) before printing ${pattern}`));
    });
  });
}

function statusField(pid: number, field: string): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match?.[1] ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Resident set size in bytes (0 when the process is gone). */
export const rssBytes = (pid: number): number => statusField(pid, "VmRSS");
/** Peak resident set size in bytes, as the kernel tracked it. */
export const peakRssBytes = (pid: number): number => statusField(pid, "VmHWM");

const ticksPerSecond = 100; // USER_HZ on Linux

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return 0;
  }
}

/** Child pids of `pid` (nginx's workers). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** CPU used by a set of processes over a stretch of time, as a share of one core (1 = 100 %). */
export function cpuMeter(pids: () => readonly number[]): () => number {
  const startedAt = performance.now();
  const ids = pids();
  const start = ids.map(cpuSeconds);
  return () => {
    const elapsed = (performance.now() - startedAt) / 1000;
    const used = ids.reduce((sum, pid, i) => sum + Math.max(0, cpuSeconds(pid) - (start[i] ?? 0)), 0);
    return elapsed > 0 ? used / elapsed : 0;
  };
}
