// Profiles the gateway's hot path: a separate gateway child started with --cpu-prof serves
// small GETs on the static stand-in (only the proxy's own work), then exits cleanly so Node
// writes the profile; the report lists the frames with the most self time.
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { TestBed } from "../../testbed/bed.ts";
import type { GatewayCredentials } from "../../testbed/gateway.ts";
import { repoRoot } from "../../testbed/paths.ts";
import type { LoadResult } from "../lib/http-load.ts";
import { runLoad } from "../lib/workers.ts";
import { startGatewayChild } from "../setups/gateway.ts";
import { smallGetPath } from "./small-gets.ts";

export interface ProfileFrame {
  readonly function: string;
  readonly location: string;
  readonly selfPercent: number;
}

export interface ProfileReport {
  readonly file: string;
  readonly load: LoadResult;
  readonly connections: number;
  /** Self time by frame, highest first. */
  readonly topFrames: ProfileFrame[];
  /** Self time by where the code lives: the gateway's src/, its dependencies, Node itself, GC/idle. */
  readonly byArea: Record<string, number>;
  /**
   * Busy time attributed to the nearest gateway (dist/ or src/) frame on the stack: what each gateway
   * function costs including the Node and library code it calls (but not other src/ frames).
   */
  readonly bySrcFrame: ProfileFrame[];
  /** Share of busy time spent loading modules at startup (left out of the tables above). */
  readonly startupPercent: number;
}

interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    hitCount?: number;
    children?: number[];
  }[];
  samples?: number[];
  timeDeltas?: number[];
}

/** The gateway's own code: dist/ as the benchmark runs it (built from src/, same file names). */
const isGatewayCode = (url: string) => !url.includes("/node_modules/") && /\/(src|dist)\//.test(url);

function area(url: string, fn: string): string {
  if (fn === "(idle)") return "idle";
  if (fn === "(garbage collector)") return "garbage collector";
  if (fn === "(program)") return "native (program)";
  if (url.includes("/node_modules/")) return `dependency ${url.split("/node_modules/")[1]?.split("/")[0] ?? ""}`;
  if (isGatewayCode(url)) return "gateway code";
  if (url.startsWith("node:")) return "node internals";
  return url === "" ? "native/builtin" : "other";
}

const locationOf = (url: string, lineNumber: number) =>
  url ? `${url.startsWith("file://") ? relative(repoRoot, new URL(url).pathname) : url}:${lineNumber + 1}` : "";

export function summarizeProfile(profile: CpuProfile, top = 20): Omit<ProfileReport, "file" | "load" | "connections"> {
  const parent = new Map<number, number>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const ancestors = function* (id: number) {
    for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
      const node = byId.get(p);
      if (node) yield node;
    }
  };
  const isStartup = (id: number) =>
    [...ancestors(id)].some((n) => n.callFrame.url.startsWith("node:internal/modules/"));
  const srcFrame = (id: number) => {
    const self = byId.get(id);
    if (self && isGatewayCode(self.callFrame.url)) return self;
    for (const n of ancestors(id)) if (isGatewayCode(n.callFrame.url)) return n;
    return undefined;
  };
  const attributed = new Map<string, { function: string; location: string; time: number }>();
  let startup = 0;
  const time = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    time.set(id, (time.get(id) ?? 0) + (deltas[i] ?? 0));
  }
  const frames = new Map<string, { function: string; location: string; time: number }>();
  const areas = new Map<string, number>();
  let total = 0;
  let busy = 0;
  for (const node of profile.nodes) {
    const t = time.get(node.id) ?? 0;
    if (t === 0) continue;
    total += t;
    const { functionName, url, lineNumber } = node.callFrame;
    const fn = functionName || "(anonymous)";
    const a = area(url, fn);
    areas.set(a, (areas.get(a) ?? 0) + t);
    if (a === "idle") continue;
    busy += t;
    if (isStartup(node.id)) {
      startup += t;
      continue;
    }
    const owner = srcFrame(node.id);
    const ownerKey = owner
      ? `${owner.callFrame.functionName}@${locationOf(owner.callFrame.url, owner.callFrame.lineNumber)}`
      : "(no gateway frame)";
    const entry = attributed.get(ownerKey) ?? {
      function: owner ? owner.callFrame.functionName || "(anonymous)" : "(no gateway frame on the stack)",
      location: owner
        ? locationOf(owner.callFrame.url, owner.callFrame.lineNumber)
        : "Node's HTTP/TLS server, GC, timers",
      time: 0,
    };
    entry.time += t;
    attributed.set(ownerKey, entry);
    const location = locationOf(url, lineNumber);
    const key = `${fn}@${location}`;
    const frame = frames.get(key) ?? { function: fn, location, time: 0 };
    frame.time += t;
    frames.set(key, frame);
  }
  const topFrames = [...frames.values()]
    .sort((a, b) => b.time - a.time)
    .slice(0, top)
    .map((f) => ({ function: f.function, location: f.location, selfPercent: (100 * f.time) / (busy || 1) }));
  const byArea = Object.fromEntries(
    [...areas.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, (100 * v) / (total || 1)]),
  );
  const bySrcFrame = [...attributed.values()]
    .sort((a, b) => b.time - a.time)
    .slice(0, top)
    .map((f) => ({ function: f.function, location: f.location, selfPercent: (100 * f.time) / (busy || 1) }));
  return { topFrames, byArea, bySrcFrame, startupPercent: (100 * startup) / (busy || 1) };
}

export async function profileGateway(options: {
  readonly bed: TestBed;
  readonly credentials: GatewayCredentials;
  readonly dir: string;
  readonly token: string;
  readonly caFile: string;
  readonly connections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}): Promise<ProfileReport> {
  await mkdir(options.dir, { recursive: true });
  const before = new Set(await readdir(options.dir));
  const gateway = await startGatewayChild({
    bed: options.bed,
    name: "gateway-profiled",
    credentials: options.credentials,
    cpuProfileDir: options.dir,
  });
  let load: LoadResult;
  try {
    load = await runLoad({
      url: gateway.url + smallGetPath,
      caFile: options.caFile,
      connections: options.connections,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      token: options.token,
    });
  } finally {
    await gateway.stop();
  }
  const written = (await readdir(options.dir)).filter((f) => f.endsWith(".cpuprofile") && !before.has(f));
  const file = written[0];
  if (!file) throw new Error(`the gateway wrote no .cpuprofile into ${options.dir} (did it exit cleanly?)`);
  const profile = JSON.parse(await readFile(join(options.dir, file), "utf8")) as CpuProfile;
  return {
    file: relative(repoRoot, join(options.dir, file)),
    load,
    connections: options.connections,
    ...summarizeProfile(profile),
  };
}
