// npm run bench [-- --quick | --duration=8 --rounds=2 …]: kube-oidc-gateway against direct,
// nginx and kube-oidc-proxy on loopback, in one run, side by side. Reads top to bottom:
// options, the bed and the stand-in upstream, the setups, the workloads, the report.
import { randomUUID } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { startTestBed, type TestBed } from "../testbed/bed.ts";
import { prepareGatewayCredentials } from "../testbed/gateway.ts";
import { httpsRequest } from "../testbed/http.ts";
import { clients } from "../testbed/issuer/oidc-provider.ts";
import { type CliResults, measureCli, renderCli } from "./cli-startup.ts";
import { killAllProcessesNow, peakRssBytes, spawnTracked, stopAllProcesses, waitForLine } from "./lib/processes.ts";
import {
  type Baseline,
  type BenchResults,
  judgeTargets,
  regressionTargets,
  renderText,
  writeResults,
} from "./report.ts";
import { ceilingSetup, impersonatedIdentity } from "./setups/ceiling.ts";
import { directSetup } from "./setups/direct.ts";
import { credentialsFor, startGateway, startGatewayChild, startGatewayVariant } from "./setups/gateway.ts";
import { ensureKubeOidcProxy, startKubeOidcProxy } from "./setups/kube-oidc-proxy.ts";
import { startNginx } from "./setups/nginx.ts";
import { startNodeFloor } from "./setups/node-floor.ts";
import { gatewayVariants, type Setup, type Target } from "./setups/setup.ts";
import { authCost } from "./workloads/auth-cost.ts";
import { cores } from "./workloads/cores.ts";
import { profileGateway } from "./workloads/profile.ts";
import { medianCells, smallGetPath, smallGets } from "./workloads/small-gets.ts";
import { upgradeThroughput } from "./workloads/upgrade.ts";
import { watches, watchNamespace } from "./workloads/watches.ts";

// --- Options -----------------------------------------------------------------------------------
const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    duration: { type: "string" },
    warmup: { type: "string" },
    rounds: { type: "string" },
    concurrency: { type: "string" },
    watches: { type: "string" },
    streams: { type: "string" },
    "watch-transports": { type: "string" },
    "fresh-tokens": { type: "string" },
    "nginx-workers": { type: "string", default: "1" },
    workers: { type: "string", default: "2" },
    only: { type: "string" },
    "no-kube-oidc-proxy": { type: "boolean", default: false },
    "no-profile": { type: "boolean", default: false },
    "profile-concurrency": { type: "string", default: "16" },
    "profile-targets": { type: "string", default: "static,api" },
    "semi-space": { type: "string", default: "8" },
    targets: { type: "string", default: "static,api" },
    "after-close": { type: "string" },
    baseline: { type: "string", default: "2026-12-07T10-43-43-189Z.json" },
    "time-limit": { type: "string", default: "45" },
    "cli-runs": { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (flags.help) {
  process.stdout.write(`Usage: npm run bench -- [flags]
  --quick                 short cells (2 s), fewer watches: a smoke run of everything (~5 min)
  --duration=S            seconds measured per cell (default 8; quick 2)
  --warmup=S              seconds of warm-up per cell, not measured (default 2; quick 0.5)
  --rounds=N              rounds of every GET cell, setups rotated each round; the median is kept (default 1)
  --concurrency=1,16,64   connections for the GET workloads
  --targets=static,api    upstreams of the small-GET cells (static stand-in, kube-apiserver)
  --semi-space=N          MiB: node --max-semi-space-size of the young-generation variants of the
                          small-GET cells (gateway-bounded, gateway-h2; default 8); 0 leaves out the
                          variants (and gateway-h2-unbounded)
  --watches=1000,5000     concurrent watch counts (quick: 1000)
  --streams=1,4           concurrent upgrade streams
  --watch-transports=1,100  watches per connection: 1 = HTTP/1.1 connection each, n = HTTP/2, n per connection
  --fresh-tokens=N        tokens minted per new-token-each-request cell (default 15000; quick 6000)
  --nginx-workers=N       nginx worker_processes (default 1: one core, like the gateway's one event loop)
  --workers=N             the "cores" workload: one gateway process against serve --workers=N (default 2)
  --only=gets,auth,upgrade,watches,cores,profile,cli
                          cli: the CLI's start-up (--help time and peak RSS) and idle serve RSS;
                          --only=cli alone starts only the bed (same as node bench/cli-startup.ts)
  --cli-runs=N            runs per command of the cli section (default 15; quick 5)
  --no-kube-oidc-proxy    do not try to build kube-oidc-proxy
  --no-profile            skip the --cpu-prof run of the gateway
  --profile-concurrency=N connections of the profiled run (default 16)
  --profile-targets=static,api  upstreams profiled (api: kube-apiserver's work shares the cores)
  --after-close=S         seconds the watch workload leaves the gateway alone after the watches close
                          before reading its RSS again (default 60, the issue's minute; quick 10,
                          judged "not measured")
  --baseline=FILE         results file (in bench/results/ or a path) the "no regression" targets compare
                          with (default 2026-12-07T10-43-43-189Z.json, the last full run before issue 21)
  --time-limit=MIN        abort (and stop everything) after this many minutes (default 45)
`);
  process.exit(0);
}
const quick = flags.quick;
const seconds = (value: string | undefined, fallback: number) => Math.round(1000 * (value ? Number(value) : fallback));
const list = (value: string | undefined, fallback: number[]) => (value ? value.split(",").map(Number) : fallback);
const options = {
  durationMs: seconds(flags.duration, quick ? 2 : 8),
  warmupMs: seconds(flags.warmup, quick ? 0.5 : 2),
  rounds: Number(flags.rounds ?? 1),
  concurrencies: list(flags.concurrency, [1, 16, 64]),
  watchCounts: list(flags.watches, quick ? [1000] : [1000, 5000]),
  streams: list(flags.streams, [1, 4]),
  watchTransports: list(flags["watch-transports"], [1, 100]),
  freshTokens: Number(flags["fresh-tokens"] ?? (quick ? 6000 : 15000)),
  nginxWorkers: Number(flags["nginx-workers"]),
  gatewayWorkers: Number(flags.workers),
  only: new Set((flags.only ?? "gets,auth,upgrade,watches,cores,profile,cli").split(",")),
  targets: (flags.targets ?? "static,api").split(",") as Target[],
  semiSpaceMiB: Number(flags["semi-space"]),
  profileTargets: (flags["profile-targets"] ?? "static,api").split(",") as Target[],
  cliRuns: Number(flags["cli-runs"] ?? (quick ? 5 : 15)),
};
const log = (line: string) => process.stderr.write(`${line}\n`);
const resultsDir = join(import.meta.dirname, "results");
if (Number(process.versions.node.split(".")[0]) < 24) {
  log(`bench: running on node ${process.version}; use the project's Node 24 (npm run bench) for numbers that count`);
}

// --- Everything stops: at the end, on an error, on Ctrl-C and at the time limit ----------------
let bed: TestBed | undefined;
const setups: Setup[] = [];
let stopping = false;
async function stopEverything(): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const setup of setups.reverse()) await setup.stop().catch(() => {});
  await stopAllProcesses();
  await bed?.stop().catch(() => {});
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`bench: ${signal}, stopping every process`);
    void stopEverything().finally(() => process.exit(130));
  });
}
process.once("exit", killAllProcessesNow);
const timeLimit = setTimeout(() => {
  log(`bench: time limit of ${flags["time-limit"]} minutes reached, stopping`);
  void stopEverything().finally(() => process.exit(2));
}, Number(flags["time-limit"]) * 60_000);
timeLimit.unref();

// --only=cli: the CLI section alone, on the bed only (no setups, no load).
// The run the "no regression" targets compare with, read before anything is measured: a wrong
// --baseline is said at once instead of costing the whole run at its end.
const baselineFile = resolve(resultsDir, flags.baseline ?? "");
let baseline: Baseline;
try {
  baseline = JSON.parse(await readFile(baselineFile, "utf8")) as Baseline;
} catch (error) {
  log(`bench: --baseline=${flags.baseline}: cannot read ${baselineFile}: ${(error as Error).message}`);
  process.exit(2);
}

if (options.only.size === 1 && options.only.has("cli")) {
  try {
    log("bench: starting the test bed (for the idle serve)");
    bed = await startTestBed({ log });
    const cli = await measureCli({ runs: options.cliRuns, bed, log });
    process.stdout.write(`\n${renderCli(cli)}\n`);
  } catch (error) {
    log(`bench: failed: ${(error as Error).stack ?? error}`);
    process.exitCode = 1;
  } finally {
    await stopEverything();
    clearTimeout(timeLimit);
  }
  process.exit();
}

const startedAt = new Date().toISOString();
const loadAverage = loadavg();
const missing: string[] = [];
const gatewayPeaks: Record<string, number> = {};

try {
  // --- kube-oidc-proxy is built (or found in the cache) while the bed starts -------------------
  const kopBuild = flags["no-kube-oidc-proxy"]
    ? Promise.resolve({ failure: "skipped (--no-kube-oidc-proxy)" } as const)
    : ensureKubeOidcProxy(log);

  // --- The bed: issuer, kube-apiserver with its default JWT authenticators, kubectl ------------
  log("bench: starting the test bed (kube-apiserver validates the bed issuer's tokens itself)");
  bed = await startTestBed({ log });
  const apiServer = bed.apiServer;
  if (!apiServer) throw new Error("the bed started without kube-apiserver");
  const caFile = join(bed.dir, "ca.crt");
  const user = "bench@example.com";
  const mint = () =>
    bed?.mint({
      alg: "RS256",
      kid: "rsa-1",
      claims: {
        iss: bed.issuer.url,
        aud: clients.kubernetes.id,
        sub: "bench-user",
        email: user,
        email_verified: true,
        groups: ["bench"],
        iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 3 * 3600,
        jti: randomUUID(),
      },
    }) ?? "";
  const token = mint();
  const kubectl = async (args: string[], input?: string) => {
    const result = await bed?.kubectl(args, undefined, input);
    if (result?.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${result?.stderr}`);
  };
  // Its own role: "view" is aggregated by kube-controller-manager, which the bed does not run.
  await kubectl(["create", "clusterrole", "bench-reader", "--verb=get,list,watch", "--resource=configmaps"]);
  await kubectl(["create", "clusterrolebinding", "bench-reader", "--clusterrole=bench-reader", `--user=${user}`]);
  await kubectl(["create", "namespace", watchNamespace]);
  await kubectl(["create", "configmap", "x", "--namespace=default", "--from-literal=key=value"]);

  // --- The stand-in upstream: fixed small JSON, and an echo for upgrades (own process) ---------
  const upstreamTls = await bed.ca.issueLoopbackServer("static-upstream");
  await writeFile(join(bed.dir, "static.crt"), upstreamTls.certPem);
  await writeFile(join(bed.dir, "static.key"), upstreamTls.keyPem);
  const upstream = spawnTracked(process.execPath, [
    join(import.meta.dirname, "lib", "static-upstream.ts"),
    join(bed.dir, "static.crt"),
    join(bed.dir, "static.key"),
  ]);
  const staticUrl = `https://127.0.0.1:${(await waitForLine(upstream, /listening (\d+)/))[1]}`;

  // --- The setups ------------------------------------------------------------------------------
  const apiCredentials = await prepareGatewayCredentials(bed);
  setups.push(directSetup({ static: staticUrl, api: apiServer.url }));
  setups.push(
    await startNginx({
      ca: bed.ca,
      caPem: bed.ca.certPem,
      upstreams: { static: staticUrl, api: apiServer.url },
      workers: options.nginxWorkers,
      log,
    }),
  );
  const kop = await kopBuild;
  if ("binary" in kop) {
    try {
      const staticCredentials = await credentialsFor(bed, "kop-static", staticUrl, "static-upstream-ignores-this");
      setups.push(await startKubeOidcProxy(kop.binary, bed, apiCredentials, staticCredentials));
    } catch (error) {
      missing.push(`kube-oidc-proxy ${kop.binary.version} was built but did not start: ${(error as Error).message}`);
    }
  } else {
    log(`bench: kube-oidc-proxy left out: ${kop.failure}`);
    missing.push(`kube-oidc-proxy column: it could not be built from ../shared/peers (${kop.failure})`);
  }
  // The Node floor (issue 21): what Node's own HTTPS server and client cost with no gateway code,
  // so the report can split the gateway's distance from nginx into Node's share and its own.
  if (options.only.has("gets")) {
    setups.push(await startNodeFloor(bed.ca, bed.ca.certPem, bed.dir, { static: staticUrl, api: apiServer.url }));
  }
  const gateway = await startGateway(bed, apiCredentials, staticUrl);
  setups.push(gateway);
  if (options.gatewayWorkers > 1 && options.only.has("cores")) {
    setups.push(await startGateway(bed, apiCredentials, staticUrl, options.gatewayWorkers));
  }
  // Issue 21: HTTP/2 for every request and V8's young generation bounded (small GETs only).
  const variants: Awaited<ReturnType<typeof startGatewayVariant>>[] = [];
  if (options.semiSpaceMiB > 0 && options.only.has("gets")) {
    for (const name of gatewayVariants) {
      variants.push(await startGatewayVariant(bed, apiCredentials, staticUrl, name, options.semiSpaceMiB));
      setups.push(variants[variants.length - 1] as Setup);
    }
  }
  // serve --workers is measured in the cores workload only, against the gateway as one process.
  const singleProcess = setups.filter((s) => s.name !== "gateway-workers");
  // The variants are measured in the small-GET cells only.
  const baseSetups = singleProcess.filter((s) => !gatewayVariants.includes(s.name) && s.name !== "node-floor");
  // The ceiling: what the gateway sends kube-apiserver, sent by the client itself (small GETs only).
  const ceiling = ceilingSetup({
    api: apiServer.url,
    credential: (await readFile(apiCredentials.tokenFile, "utf8")).trim(),
    who: await impersonatedIdentity(gateway.endpoints.api.url, bed.ca.certPem, token),
  });

  // Every setup must answer the workload's request with 200 before anything is measured.
  for (const setup of [...setups, ceiling]) {
    for (const target of setup.targets ?? (["static", "api"] as const)) {
      const endpoint = setup.endpoints[target];
      const res = await httpsRequest(endpoint.url + smallGetPath, {
        ca: bed.ca.certPem,
        headers: endpoint.headers ?? { authorization: `Bearer ${token}` },
      });
      if (res.status !== 200) throw new Error(`${setup.name} ${target}: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
    }
  }
  log(`bench: setups ready: ${setups.map((s) => s.name).join(", ")}`);

  // --- Workloads -------------------------------------------------------------------------------
  const common = { caFile, warmupMs: options.warmupMs, durationMs: options.durationMs, log };
  const stage = <T>(name: string, title: string, work: () => Promise<T[]>): Promise<T[]> => {
    if (!options.only.has(name)) return Promise.resolve([]);
    log(`bench: ${title}`);
    return work();
  };
  const gets = await stage("gets", "small GETs", () =>
    smallGets({
      ...common,
      setups: [...singleProcess, ceiling],
      targets: options.targets,
      concurrencies: options.concurrencies,
      rounds: options.rounds,
      token,
    }),
  );
  const auth = await stage("auth", "authentication cost (static stand-in)", () =>
    authCost({
      ...common,
      setups: setups.filter((s) => s.name === "gateway" || s.name === "kube-oidc-proxy"),
      concurrencies: [1, 16],
      token,
      mint,
      freshTokens: options.freshTokens,
      dir: bed?.dir ?? "",
    }),
  );
  const upgrades = await stage("upgrade", "upgrade streams", () =>
    upgradeThroughput({ ...common, setups: baseSetups, streams: options.streams, token }),
  );
  const watchCells = await stage(
    "watches",
    "concurrent watches (a fresh gateway process per cell, so its RSS is the watches' alone)",
    () =>
      watches({
        setups: [
          setups[0] as Setup,
          async (): Promise<Setup> => {
            const child = await startGatewayChild({
              bed: bed as TestBed,
              name: "gateway-watch",
              credentials: apiCredentials,
            });
            return {
              ...gateway,
              endpoints: {
                ...gateway.endpoints,
                api: { url: child.url, pids: () => [child.pid], metricsUrl: `${child.healthUrl}/metrics` },
              },
              allPids: () => [child.pid],
              stop: child.stop,
            };
          },
        ],
        counts: options.watchCounts,
        perConnection: options.watchTransports,
        events: quick ? 3 : 5,
        afterCloseMs: seconds(flags["after-close"], quick ? 10 : 60),
        token,
        caFile,
        apiUrl: apiServer.url,
        adminToken: apiServer.adminToken,
        caPem: bed?.ca.certPem ?? "",
        log,
      }),
  );
  const coreCells = await stage("cores", `more than one core: serve --workers=${options.gatewayWorkers} (wrk)`, () =>
    cores({
      ...common,
      setups: setups.filter((s) => s.name !== "kube-oidc-proxy" && !gatewayVariants.includes(s.name)),
      token,
      connections: 64,
      rounds: Math.max(2, options.rounds),
    }),
  );
  const watchPeak = Math.max(0, ...watchCells.map((w) => w.rssWithWatches));
  if (watchPeak > 0) gatewayPeaks["gateway (watches, RSS with the most watches open)"] = watchPeak;
  // The CLI's start-up, while the setups idle: a fresh process per run, and a fresh idle serve.
  let cli: CliResults | undefined;
  if (options.only.has("cli")) cli = await measureCli({ runs: options.cliRuns, bed, log });
  const profiles: Awaited<ReturnType<typeof profileGateway>>[] = [];
  if (options.only.has("profile") && !flags["no-profile"]) {
    const connections = Number(flags["profile-concurrency"]);
    for (const target of options.profileTargets) {
      log(`bench: profiling the gateway (--cpu-prof) under c=${connections} small GETs on ${target}`);
      profiles.push(
        await profileGateway({
          ...common,
          bed,
          credentials:
            target === "api"
              ? apiCredentials
              : await credentialsFor(bed, "gateway-profiled", staticUrl, "static-upstream-ignores-this"),
          dir: join(resultsDir, "profiles"),
          token,
          connections,
          target,
        }),
      );
    }
  }

  // --- Report ----------------------------------------------------------------------------------
  const peakRss: Record<string, number> = { ...gatewayPeaks };
  for (const setup of setups) {
    if (setup.name === "gateway") {
      peakRss["gateway (static)"] = peakRssBytes(gateway.children.static.pid);
      peakRss["gateway (api)"] = peakRssBytes(gateway.children.api.pid);
    } else if (gatewayVariants.includes(setup.name)) {
      const variant = variants.find((v) => v.name === setup.name);
      if (variant) {
        peakRss[`${setup.name} (static)`] = peakRssBytes(variant.children.static.pid);
        peakRss[`${setup.name} (api)`] = peakRssBytes(variant.children.api.pid);
      }
    } else if (setup.name !== "direct") {
      peakRss[setup.name] = setup.allPids().reduce((sum, pid) => sum + peakRssBytes(pid), 0);
    }
  }
  const partial = {
    meta: {
      startedAt,
      finishedAt: new Date().toISOString(),
      node: process.version,
      cpus: availableParallelism(),
      loadAverage,
      quick,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      rounds: options.rounds,
      kubernetes: bed.binaries?.version,
    },
    setups: [...setups, ceiling].map((s) => ({ name: s.name, description: s.description })),
    kubeOidcProxy: "binary" in kop ? { built: kop.binary.description } : { failure: kop.failure },
    gets: medianCells(gets),
    auth,
    upgrades,
    watches: watchCells,
    cores: coreCells,
    ...(profiles.length ? { profiles } : {}),
    ...(cli ? { cli } : {}),
    peakRss,
    missing,
  };
  const results: BenchResults = {
    ...partial,
    targets: [...judgeTargets(partial), ...regressionTargets(partial, baseline), ...(cli?.targets ?? [])],
  };
  process.stdout.write(`\n${renderText(results)}\n`);
  if (cli) process.stdout.write(`\n${renderCli(cli)}\n`);
  const files = await writeResults(resultsDir, results);
  log(`bench: wrote ${files.join(", ")}`);
} catch (error) {
  log(`bench: failed: ${(error as Error).stack ?? error}`);
  process.exitCode = 1;
} finally {
  await stopEverything();
  clearTimeout(timeLimit);
}
