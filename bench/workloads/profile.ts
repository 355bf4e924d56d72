// Profiles the gateway's hot path: a separate gateway child started with --cpu-prof serves
// small GETs (on the static stand-in: only the proxy's own work; on kube-apiserver: the real
// upstream, whose work shares the same cores), then exits cleanly so Node writes the profile.
// The report answers "where does the CPU go" in categories one can act on (TLS, HTTP parsing and
// header writing, the gateway's own code by concern, GC, idle), as % of busy time and as µs per
// request, and lists the frames with the most self time.
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { TestBed } from "../../testbed/bed.ts";
import type { GatewayCredentials } from "../../testbed/gateway.ts";
import { repoRoot } from "../../testbed/paths.ts";
import { metricSum } from "../lib/gateway-metrics.ts";
import type { LoadResult } from "../lib/http-load.ts";
import { runLoad } from "../lib/workers.ts";
import { startGatewayChild } from "../setups/gateway.ts";
import type { Target } from "../setups/setup.ts";
import { smallGetPath } from "./small-gets.ts";

export interface ProfileFrame {
  readonly function: string;
  readonly location: string;
  readonly selfPercent: number;
}

/** One category of the profile: its share of busy time and its time per request served. */
export interface ProfileCategory {
  readonly category: string;
  readonly busyPercent: number;
  readonly microsPerRequest: number;
}

export interface ProfileReport {
  readonly file: string;
  readonly load: LoadResult;
  readonly connections: number;
  /** Absent in results written before the api target was profiled (then: static). */
  readonly target?: Target;
  /** Requests the gateway served while profiled (its own counter: warm-up included). */
  readonly requests?: number;
  /** Busy time (not idle, not module loading at startup) in µs. */
  readonly busyMicros?: number;
  /** Idle time in % of the profiled wall time. */
  readonly idlePercent?: number;
  /** Busy time by category, highest first (see categorize). */
  readonly categories?: ProfileCategory[];
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

// The categories a reader can act on. Native frames (url "") take the category of the nearest
// JavaScript frame that called them, except the stream writes: on a TLS socket (both of the
// gateway's sides are TLS) StreamBase's writev/write*String run TLSWrap's encryption and the
// write syscall, so their time is TLS.
export const categoryNames = {
  gc: "garbage collection",
  native:
    "native, no JavaScript on the stack ((program): TLS decryption of what is read, llhttp parsing the clients' requests, nghttp2, libuv)",
  tls: "TLS: encrypt + write (writev/write*String under TLSWrap) and Node's tls JavaScript",
  http: "HTTP parsing and header writing (Node's _http_*, http2, llhttp's execute, and the events and streams they drive)",
  plumbing: "Node's event loop: ticks, microtasks, timers, events with no TLS, HTTP or gateway caller",
  authn: "gateway: authentication (token verification, token cache)",
  headers: "gateway: request and impersonation headers",
  logging: "gateway: logging",
  metrics: "gateway: metrics",
  pipeline: "gateway: the rest of its request pipeline (proxy, upstream, server)",
  dependency: "dependencies (node_modules), not under a gateway frame",
  other: "other",
} as const;

const tlsWrites = new Set([
  "writev",
  "writeBuffer",
  "writeUtf8String",
  "writeLatin1String",
  "writeAsciiString",
  "writeUcs2String",
]);
const isTlsModule = (url: string) => /^node:(_tls_|tls$|internal\/tls\/)/.test(url);
const isHttpModule = (url: string) => /^node:(_http_|https?$|http2$|internal\/http)/.test(url);

/** The gateway's concern a file of its own belongs to (dist/ mirrors src/). */
function gatewayArea(url: string): string {
  const path = url.replace(/^.*\/(src|dist)\//, "");
  if (path.startsWith("authn/") || path.startsWith("apiserver/jw") || path.startsWith("apiserver/go-oidc"))
    return categoryNames.authn;
  if (path.startsWith("proxy/headers") || path.startsWith("apiserver/impersonation")) return categoryNames.headers;
  if (/^observability\/(access-log|logger)/.test(path)) return categoryNames.logging;
  if (path.startsWith("observability/")) return categoryNames.metrics;
  return categoryNames.pipeline;
}

type Node = CpuProfile["nodes"][number];

/** The category of a profile node (a function on one stack), given its ancestors, innermost first. */
export function categorize(node: Node, ancestors: readonly Node[]): string {
  const { functionName: fn, url } = node.callFrame;
  if (fn === "(garbage collector)") return categoryNames.gc;
  if (fn === "(program)") return categoryNames.native;
  if (fn === "(idle)") return "idle";
  if (url === "") {
    if (tlsWrites.has(fn)) return categoryNames.tls;
    const [caller, ...rest] = ancestors;
    return caller ? categorize(caller, rest) : categoryNames.other;
  }
  if (isTlsModule(url)) return categoryNames.tls;
  if (isHttpModule(url)) return categoryNames.http;
  if (isGatewayCode(url)) return gatewayArea(url);
  // Node's other internals (events, streams, nextTick, crypto, buffers) and dependencies count for
  // the nearest caller that is TLS, HTTP or the gateway's: the listeners _http_outgoing adds are
  // HTTP's cost, the token cache's SHA-256 is authentication, the logger's stream writes are
  // logging. With no such caller (the event loop's own ticks and microtasks) they are plumbing.
  for (const caller of ancestors) {
    const at = caller.callFrame.url;
    if (isTlsModule(at)) return categoryNames.tls;
    if (isHttpModule(at)) return categoryNames.http;
    if (isGatewayCode(at)) return gatewayArea(at);
  }
  if (url.includes("/node_modules/")) return categoryNames.dependency;
  if (url.startsWith("node:")) return categoryNames.plumbing;
  return categoryNames.other;
}

const locationOf = (url: string, lineNumber: number) =>
  url ? `${url.startsWith("file://") ? relative(repoRoot, new URL(url).pathname) : url}:${lineNumber + 1}` : "";

export function summarizeProfile(
  profile: CpuProfile,
  top = 20,
  requests = 0,
): Omit<ProfileReport, "file" | "load" | "connections" | "target"> {
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
    [byId.get(id), ...ancestors(id)].some((n) => n?.callFrame.url.startsWith("node:internal/modules/"));
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
  const categories = new Map<string, number>();
  let total = 0;
  let busy = 0;
  let idle = 0;
  for (const node of profile.nodes) {
    const t = time.get(node.id) ?? 0;
    if (t === 0) continue;
    total += t;
    const { functionName, url, lineNumber } = node.callFrame;
    const fn = functionName || "(anonymous)";
    const a = area(url, fn);
    areas.set(a, (areas.get(a) ?? 0) + t);
    if (a === "idle") {
      idle += t;
      continue;
    }
    busy += t;
    if (isStartup(node.id)) {
      startup += t;
      continue;
    }
    const category = categorize(node, [...ancestors(node.id)]);
    categories.set(category, (categories.get(category) ?? 0) + t);
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
  // Busy time of the categories: startup's module loading is left out, as in the tables.
  const served = busy - startup;
  return {
    topFrames,
    byArea,
    bySrcFrame,
    startupPercent: (100 * startup) / (busy || 1),
    requests,
    busyMicros: served,
    idlePercent: (100 * idle) / (total || 1),
    categories: [...categories.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([category, t]) => ({
        category,
        busyPercent: (100 * t) / (served || 1),
        microsPerRequest: requests > 0 ? t / requests : Number.NaN,
      })),
  };
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
  /** The upstream the credentials point at (the report says which). */
  readonly target: Target;
}): Promise<ProfileReport> {
  await mkdir(options.dir, { recursive: true });
  const before = new Set(await readdir(options.dir));
  const gateway = await startGatewayChild({
    bed: options.bed,
    name: `gateway-profiled-${options.target}`,
    credentials: options.credentials,
    cpuProfileDir: options.dir,
  });
  let load: LoadResult;
  let requests = 0;
  try {
    load = await runLoad({
      url: gateway.url + smallGetPath,
      caFile: options.caFile,
      connections: options.connections,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      token: options.token,
    });
    requests = await requestsServed(`${gateway.healthUrl}/metrics`);
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
    target: options.target,
    ...summarizeProfile(profile, 20, requests),
  };
}

/** Every request the gateway counted so far (warm-up included: the profile covers it too). */
async function requestsServed(metricsUrl: string): Promise<number> {
  const served = await metricSum(metricsUrl, "kube_oidc_gateway_http_requests_total");
  if (served === undefined) throw new Error(`the gateway's metrics at ${metricsUrl} did not answer`);
  return served;
}
