// The gateway: `node dist/cli/main.js serve`, the JavaScript the npm package and the image ship
// (built once per run by `npm run build`'s script), as a child process with the project's Node,
// one per upstream, configured like the bed's API server (same issuer, claims and prefixes). It
// validates the OIDC token itself and impersonates the user with its ServiceAccount token.
// Running the TypeScript sources instead would add Node's type stripping (~25 MiB of RSS) to
// every memory figure, which no deployment carries.
import { openSync } from "node:fs";
import { join } from "node:path";
import type { TestBed } from "../../testbed/bed.ts";
import { bedOidcFlags, type GatewayCredentials, gatewayReady, writeGatewayCredentials } from "../../testbed/gateway.ts";
import { repoRoot } from "../../testbed/paths.ts";
import { serveChildFlags } from "../../testbed/serve-child.ts";
import { childPids, spawnTracked, stopProcess } from "../lib/processes.ts";
import type { Setup, SetupName } from "./setup.ts";

export interface GatewayChild {
  readonly url: string;
  readonly healthUrl: string;
  readonly pid: number;
  readonly logFile: string;
  stop(): Promise<void>;
}

export interface GatewayChildOptions {
  readonly bed: TestBed;
  /** A name for its folder in the bed (credentials, log). */
  readonly name: string;
  readonly credentials: GatewayCredentials;
  /** --cpu-prof into this folder (written when the process exits). */
  readonly cpuProfileDir?: string;
  readonly extraFlags?: readonly string[];
  /** Flags for node itself (before the script), e.g. --max-semi-space-size. */
  readonly nodeFlags?: readonly string[];
}

/** Credentials for a gateway in front of an arbitrary upstream (the static stand-in). */
export function credentialsFor(bed: TestBed, name: string, upstream: string, token: string) {
  return writeGatewayCredentials(bed, name, upstream, token);
}

let built: Promise<void> | undefined;

/** Builds dist/ from this checkout, once per benchmark run. */
function buildOnce(): Promise<void> {
  built ??= new Promise<void>((resolve, reject) => {
    const child = spawnTracked(process.execPath, [join(repoRoot, "scripts", "build-package.ts")], {
      stdio: ["ignore", "ignore", "inherit"],
      cwd: repoRoot,
    });
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`npm run build failed (exit ${code})`))));
  });
  return built;
}

export async function startGatewayChild(options: GatewayChildOptions): Promise<GatewayChild> {
  await buildOnce();
  const { flags, url, healthUrl } = await serveChildFlags(options.credentials, bedOidcFlags(options.bed));
  const logFile = join(options.bed.dir, `${options.name}.log`);
  const log = openSync(logFile, "a");
  const nodeFlags = [
    ...(options.nodeFlags ?? []),
    ...(options.cpuProfileDir ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`] : []),
  ];
  const child = spawnTracked(
    process.execPath,
    [...nodeFlags, join(repoRoot, "dist", "cli", "main.js"), "serve", ...flags, ...(options.extraFlags ?? [])],
    { stdio: ["ignore", log, log], cwd: repoRoot },
  );
  const running: GatewayChild = {
    url,
    healthUrl,
    pid: child.pid ?? 0,
    logFile,
    stop: () => stopProcess(child, 10_000),
  };
  try {
    await gatewayReady(running, 30_000);
  } catch (error) {
    await running.stop();
    throw new Error(`gateway ${options.name} did not become ready (log: ${logFile}): ${(error as Error).message}`);
  }
  return running;
}

/** A process and, for `serve --workers`, its worker processes (read when sampled). */
const withWorkers = (pid: number) => [pid, ...childPids(pid)];

/** The gateway in front of each upstream; with `workers` > 1, `serve --workers=<workers>`. */
export async function startGateway(
  bed: TestBed,
  apiCredentials: GatewayCredentials,
  staticUrl: string,
  workers = 1,
): Promise<Setup & { children: { static: GatewayChild; api: GatewayChild } }> {
  const suffix = workers > 1 ? "-workers" : "";
  const extraFlags = workers > 1 ? [`--workers=${workers}`] : [];
  const staticCredentials = await credentialsFor(
    bed,
    `gateway-static${suffix}`,
    staticUrl,
    "static-upstream-ignores-this",
  );
  const [staticChild, apiChild] = await Promise.all([
    startGatewayChild({ bed, name: `gateway-static${suffix}`, credentials: staticCredentials, extraFlags }),
    startGatewayChild({ bed, name: `gateway-api${suffix}`, credentials: apiCredentials, extraFlags }),
  ]);
  return {
    name: workers > 1 ? "gateway-workers" : "gateway",
    children: { static: staticChild, api: apiChild },
    endpoints: {
      static: {
        url: staticChild.url,
        pids: () => withWorkers(staticChild.pid),
        ...(workers > 1 ? {} : { metricsUrl: `${staticChild.healthUrl}/metrics` }),
      },
      api: {
        url: apiChild.url,
        pids: () => withWorkers(apiChild.pid),
        ...(workers > 1 ? {} : { metricsUrl: `${apiChild.healthUrl}/metrics` }),
      },
    },
    allPids: () => [...withWorkers(staticChild.pid), ...withWorkers(apiChild.pid)],
    description:
      workers > 1
        ? `kube-oidc-gateway --workers=${workers}: a primary and ${workers} worker processes per upstream`
        : `kube-oidc-gateway (this checkout), node ${process.version}, one child process per upstream`,
    stop: async () => {
      await Promise.all([staticChild.stop(), apiChild.stop()]);
    },
  };
}

/** What each young-generation variant runs (issue 21): the upstream protocol and V8's semi-space. */
export function variantFlags(name: SetupName, semiSpaceMiB: number) {
  const h2 = name === "gateway-h2" || name === "gateway-h2-unbounded";
  const bounded = name === "gateway-h2" || name === "gateway-bounded";
  return {
    extraFlags: h2 ? ["--upstream-http2=all"] : [],
    // Node's CLI docs (--max-semi-space-size, in MiB): the young generation is three times the
    // semi-space (V8's YoungGenerationSizeFromSemiSpaceSize), and the default on 64-bit systems
    // is up to 16 MiB, depending on the heap limit: so N bounds the young generation to ~3N MiB.
    nodeFlags: bounded ? [`--max-semi-space-size=${semiSpaceMiB}`] : [],
    description: `kube-oidc-gateway ${h2 ? "--upstream-http2=all (every request an HTTP/2 stream)" : "with its default --upstream-http2=watches (small requests over HTTP/1.1 keep-alive)"}, ${bounded ? `node --max-semi-space-size=${semiSpaceMiB} (MiB)` : "V8's default young generation"}`,
  };
}

/** A young-generation variant of the gateway: one child per upstream, as the default gateway. */
export async function startGatewayVariant(
  bed: TestBed,
  apiCredentials: GatewayCredentials,
  staticUrl: string,
  name: SetupName,
  semiSpaceMiB: number,
): Promise<Setup & { children: { static: GatewayChild; api: GatewayChild } }> {
  const { extraFlags, nodeFlags, description } = variantFlags(name, semiSpaceMiB);
  const staticCredentials = await credentialsFor(bed, `${name}-static`, staticUrl, "static-upstream-ignores-this");
  const [staticChild, apiChild] = await Promise.all([
    startGatewayChild({ bed, name: `${name}-static`, credentials: staticCredentials, extraFlags, nodeFlags }),
    startGatewayChild({ bed, name: `${name}-api`, credentials: apiCredentials, extraFlags, nodeFlags }),
  ]);
  const endpoint = (child: GatewayChild) => ({
    url: child.url,
    pids: () => [child.pid],
    metricsUrl: `${child.healthUrl}/metrics`,
  });
  return {
    name,
    children: { static: staticChild, api: apiChild },
    endpoints: { static: endpoint(staticChild), api: endpoint(apiChild) },
    allPids: () => [staticChild.pid, apiChild.pid],
    description,
    stop: async () => {
      await Promise.all([staticChild.stop(), apiChild.stop()]);
    },
  };
}
