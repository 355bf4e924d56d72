// Headlamp v0.45.0 (kubernetes-sigs/headlamp, the dashboard of the incident) as a peer of the test
// bed: its Go backend and its built React UI, built once from the unmodified source tarball in
// ../shared/peers with build-headlamp.sh (Go modules from the Go module proxy, the UI's packages
// from the npm registry), cached under .cache/peers/headlamp-v0.45.0-<sha256 of the tarball,
// 16 hex>/, and run in in-cluster mode as the incident ran it.
//
// In-cluster mode reads the ServiceAccount folder at the fixed path
// /var/run/secrets/kubernetes.io/serviceaccount (client-go rest.InClusterConfig: token, ca.crt;
// KUBERNETES_SERVICE_HOST/PORT name the API). Tests must never write that path on the machine,
// so Headlamp runs in a private mount namespace (unshare -m) with a tmpfs over /run (/var/run is
// a link to /run here) holding the folder: only Headlamp sees it, and it vanishes with it.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { withCacheLock } from "../cache-lock.ts";
import { waitFor } from "../http.ts";
import { cacheDir, repoRoot } from "../paths.ts";
import { type Supervised, spawnSupervised } from "../supervise.ts";
import { peersDir } from "./kube-oidc-proxy.ts";

const run = promisify(execFile);

export const headlampVersion = "v0.45.0";
export const headlampTarball = join(peersDir, `headlamp-${headlampVersion}-src.tar.gz`);
const buildScript = join(peersDir, "build-headlamp.sh");

export interface HeadlampBuild {
  /** e.g. "kubernetes-sigs/headlamp v0.45.0 built from source (tarball sha256 7b808a6fe5d1…)". */
  readonly description: string;
  readonly sha256: string;
  readonly dir: string;
  /** The backend binary. */
  readonly server: string;
  /** The built UI (-html-static-dir). */
  readonly staticDir: string;
}

/** Why Headlamp cannot be built here, or undefined when it can (or is built already). */
export function headlampUnavailable(): string | undefined {
  if (!existsSync(headlampTarball)) return `no source tarball at ${headlampTarball}`;
  if (!existsSync(buildScript)) return `no build script at ${buildScript}`;
  return undefined;
}

const built = (dir: string) =>
  existsSync(join(dir, "headlamp-server")) && existsSync(join(dir, "static", "index.html"));

/**
 * Finds the build for the tarball's hash, or builds it: minutes (the first backend build fetches
 * and compiles Kubernetes' client libraries, the UI is `npm ci` + Vite). A lock folder lets
 * parallel test processes share one build. Needs Go, and Node >= 22 with npm, on PATH: this
 * process's own Node goes first on the build's PATH.
 */
export async function ensureHeadlamp(log: (line: string) => void = () => {}): Promise<HeadlampBuild> {
  const missing = headlampUnavailable();
  if (missing) throw new Error(`Headlamp: ${missing}`);
  const sha256 = createHash("sha256").update(readFileSync(headlampTarball)).digest("hex");
  const dir = join(cacheDir, "peers", `headlamp-${headlampVersion}-${sha256.slice(0, 16)}`);
  const build: HeadlampBuild = {
    description: `kubernetes-sigs/headlamp ${headlampVersion} built from source (tarball sha256 ${sha256.slice(0, 12)}…)`,
    sha256,
    dir,
    server: join(dir, "headlamp-server"),
    staticDir: join(dir, "static"),
  };
  if (built(dir)) return build;
  await withCacheLock(
    dir,
    () => built(dir),
    async () => {
      const staging = `${dir}.building`;
      // A build that finished in the staging folder (e.g. started by hand) is as good as ours.
      if (!built(staging)) {
        log(`Headlamp: building ${headlampVersion} from ${headlampTarball} (cached under ${dir}; minutes)`);
        await rm(staging, { recursive: true, force: true });
        const path = `${resolve(process.execPath, "..")}:${process.env.PATH ?? ""}`;
        await run(buildScript, [staging, headlampTarball], {
          cwd: repoRoot,
          env: { ...process.env, PATH: path },
          timeout: 1_800_000,
          maxBuffer: 256 * 1024 * 1024,
        });
      }
      await rm(dir, { recursive: true, force: true });
      await rename(staging, dir);
    },
  );
  if (!built(dir)) throw new Error(`Headlamp: the build left no headlamp-server and static/ in ${dir}`);
  return build;
}

/** Headlamp's own OIDC login (way A): its -oidc-* flags. */
export interface HeadlampOidc {
  readonly issuerUrl: string;
  readonly clientId: string;
  readonly clientSecret?: string;
  /** Comma-separated, as -oidc-scopes takes them (Headlamp adds openid). */
  readonly scopes: string;
  /** The issuer's CA (PEM): -oidc-ca-file. */
  readonly caPem: string;
  /** -oidc-use-pkce: S256 code challenge (cmd/headlamp.go, the /oidc handler). */
  readonly usePkce?: boolean;
}

export interface StartHeadlampOptions {
  /** The port Headlamp listens on (loopback), fixed in advance: redirect URIs name it. */
  readonly port: number;
  /** The API in-cluster mode calls: KUBERNETES_SERVICE_HOST/PORT. */
  readonly apiHost: string;
  readonly apiPort: number;
  /** ca.crt of the ServiceAccount folder: must verify the API's serving certificate. */
  readonly caPem: string;
  /** token of the ServiceAccount folder (Headlamp calls the API with it once at start). */
  readonly saToken: string;
  readonly namespace: string;
  readonly oidc?: HeadlampOidc;
  /** Per-instance files (logs, the ServiceAccount source folder, HOME). */
  readonly dir: string;
  readonly log?: (line: string) => void;
}

export interface RunningHeadlamp {
  readonly url: string;
  readonly port: number;
  /** Its stdout and stderr since the first start. */
  logs(): string;
  /** Stops and starts it again on the same port (its in-memory state is lost, as in a pod restart). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const serviceAccountPath = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Starts headlamp-server in its private mount namespace; resolves once its port answers. */
export async function startHeadlamp(build: HeadlampBuild, options: StartHeadlampOptions): Promise<RunningHeadlamp> {
  const log = options.log ?? (() => {});
  const source = join(options.dir, "serviceaccount");
  const home = join(options.dir, "home");
  await mkdir(source, { recursive: true });
  await mkdir(join(home, "plugins"), { recursive: true });
  await mkdir(join(home, "user-plugins"), { recursive: true });
  await writeFile(join(source, "token"), options.saToken, { mode: 0o600 });
  await writeFile(join(source, "ca.crt"), options.caPem);
  await writeFile(join(source, "namespace"), options.namespace);
  const args = [
    "-in-cluster",
    `-html-static-dir=${build.staticDir}`,
    "-listen-addr=127.0.0.1",
    `-port=${options.port}`,
    `-plugins-dir=${join(home, "plugins")}`,
    `-user-plugins-dir=${join(home, "user-plugins")}`,
  ];
  if (options.oidc) {
    const caFile = join(options.dir, "oidc-ca.crt");
    await writeFile(caFile, options.oidc.caPem);
    args.push(
      `-oidc-idp-issuer-url=${options.oidc.issuerUrl}`,
      `-oidc-client-id=${options.oidc.clientId}`,
      `-oidc-scopes=${options.oidc.scopes}`,
      `-oidc-ca-file=${caFile}`,
    );
    if (options.oidc.clientSecret) args.push(`-oidc-client-secret=${options.oidc.clientSecret}`);
    if (options.oidc.usePkce) args.push("-oidc-use-pkce");
  }
  // /var/run is a link to /run on Debian; the tmpfs goes over the link's target so the fixed
  // path resolves into it. As root `unshare -m` suffices; otherwise a user namespace maps us to
  // root inside it (`-r`), which is also what lets an unprivileged user mount.
  const runDir = existsSync("/var/run") ? realpathSync("/var/run") : "/var/run";
  const target = serviceAccountPath.replace(/^\/var\/run/, runDir);
  const quote = (s: string) => `'${s.replaceAll("'", `'"'"'`)}'`;
  const script = [
    `mount -t tmpfs tmpfs ${quote(runDir)}`,
    `mkdir -p ${quote(target)}`,
    `cp ${quote(join(source, "token"))} ${quote(join(source, "ca.crt"))} ${quote(join(source, "namespace"))} ${quote(target)}/`,
    `exec ${[build.server, ...args].map(quote).join(" ")}`,
  ].join(" && ");
  const unshareArgs = [
    ...(process.getuid?.() === 0 ? ["-m"] : ["-r", "-m"]),
    "--propagation",
    "private",
    "sh",
    "-c",
    script,
  ];
  const env = {
    ...process.env,
    HOME: home,
    KUBERNETES_SERVICE_HOST: options.apiHost,
    KUBERNETES_SERVICE_PORT: String(options.apiPort),
  };

  let output = "";
  let current: Supervised | undefined;
  const url = `http://127.0.0.1:${options.port}`;
  const launch = async () => {
    const supervised = spawnSupervised("unshare", unshareArgs, { cwd: options.dir, env });
    current = supervised;
    const collect = (data: Buffer) => {
      output = (output + data.toString()).slice(-1_000_000);
    };
    supervised.child.stdout?.on("data", collect);
    supervised.child.stderr?.on("data", collect);
    let exited = false;
    void supervised.exited.then(() => {
      exited = true;
    });
    const started = Date.now();
    try {
      await waitFor(
        "Headlamp's port",
        async () => {
          if (exited) throw new Error("Headlamp exited");
          // /config is the backend's own answer (the cluster list), not just the static files.
          return (await fetch(`${url}/config`, { signal: AbortSignal.timeout(3000) })).status === 200;
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
    } catch (error) {
      await supervised.stop(5000);
      throw new Error(`Headlamp did not start: ${(error as Error).message}\n${output.slice(-4000)}`);
    }
    log(`Headlamp: ready on ${url} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  };
  const stop = async () => {
    await current?.stop(5000);
    current = undefined;
  };
  await launch();
  return {
    url,
    port: options.port,
    logs: () => output,
    restart: async () => {
      await stop();
      await launch();
    },
    stop,
  };
}
