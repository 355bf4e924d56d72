// kube-oidc-proxy v0.3.0 (jetstack, the proxy the incident ran) as a peer of the test bed: built
// once from the unmodified source tarball in ../shared/peers with its build.sh (its Go
// dependencies come from the Go module proxy), cached under .cache/peers/<version>-<sha256 of the
// tarball, 16 hex>/, and started in front of the bed's kube-apiserver. Flags and the readiness
// probe as ../shared/peers/README.md describes them (cmd/app/options/*.go of the tarball).
import { type ChildProcess, execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { withCacheLock } from "../cache-lock.ts";
import { waitFor } from "../http.ts";
import { cacheDir, repoRoot } from "../paths.ts";
import { freePort } from "../ports.ts";
import { spawnSupervised } from "../supervise.ts";

const run = promisify(execFile);

export const kubeOidcProxyVersion = "v0.3.0";
/** Where the tarball and its build script are (KOG_PEERS_DIR overrides). */
export const peersDir = process.env.KOG_PEERS_DIR
  ? resolve(process.env.KOG_PEERS_DIR)
  : resolve(repoRoot, "..", "shared", "peers");
export const kubeOidcProxyTarball = join(peersDir, `kube-oidc-proxy-${kubeOidcProxyVersion}.tar.gz`);

export interface KubeOidcProxyBinary {
  /** e.g. "jetstack/kube-oidc-proxy v0.3.0 (source tarball sha256 da60c849…)". */
  readonly description: string;
  readonly version: string;
  readonly sha256: string;
  readonly path: string;
}

/** Why the peer cannot be built here, or undefined when it can (or is built already). */
export function kubeOidcProxyUnavailable(): string | undefined {
  if (!existsSync(kubeOidcProxyTarball)) return `no source tarball at ${kubeOidcProxyTarball}`;
  return undefined;
}

/**
 * Finds the binary built from the tarball, or builds it (the first build fetches ~86 modules:
 * minutes). A lock folder lets parallel test processes share one build.
 */
export async function ensureKubeOidcProxy(log: (line: string) => void = () => {}): Promise<KubeOidcProxyBinary> {
  const missing = kubeOidcProxyUnavailable();
  if (missing) throw new Error(`kube-oidc-proxy: ${missing}`);
  const sha256 = createHash("sha256").update(readFileSync(kubeOidcProxyTarball)).digest("hex");
  const dir = join(cacheDir, "peers", `${kubeOidcProxyVersion}-${sha256.slice(0, 16)}`);
  const path = join(dir, "kube-oidc-proxy");
  const binary: KubeOidcProxyBinary = {
    description: `jetstack/kube-oidc-proxy ${kubeOidcProxyVersion} built from source (tarball sha256 ${sha256.slice(0, 12)}…)`,
    version: kubeOidcProxyVersion,
    sha256,
    path,
  };
  if (existsSync(path)) return binary;
  await withCacheLock(
    path,
    () => existsSync(path),
    async () => {
      log(`kube-oidc-proxy: building ${kubeOidcProxyVersion} from ${kubeOidcProxyTarball} (cached under ${dir})`);
      const staging = `${path}.building`;
      await mkdir(dirname(path), { recursive: true });
      await rm(staging, { force: true });
      await run(join(peersDir, "build.sh"), [staging, kubeOidcProxyTarball], {
        cwd: repoRoot,
        timeout: 1_200_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      await rename(staging, path);
    },
  );
  if (!existsSync(path)) throw new Error(`kube-oidc-proxy: the build left no binary at ${path}`);
  return binary;
}

/** What the peer needs from the bed: the same files a gateway gets (testbed/gateway.ts). */
export interface KubeOidcProxyCredentials {
  readonly kubeconfig: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

export interface RunningKubeOidcProxy {
  readonly url: string;
  readonly readyUrl: string;
  /** The kube-oidc-proxy process itself (for CPU and memory sampling). */
  readonly pid: () => number | undefined;
  /** Its stderr and stdout (klog), for assertions and failure messages. */
  readonly logs: () => string;
  stop(): Promise<void>;
}

export interface StartKubeOidcProxyOptions {
  readonly credentials: KubeOidcProxyCredentials;
  /** The --oidc-* flags (and any other flag of kube-oidc-proxy's). */
  readonly args: readonly string[];
  /**
   * How to start the process. Default: under the bed's supervisor (it dies with the test
   * process). The benchmark passes its own tracked spawn, so the pid sampled is the proxy's.
   */
  readonly spawn?: (command: string, args: readonly string[]) => ChildProcess;
  readonly readyTimeoutMs?: number;
}

/** The serving, upstream and probe flags: loopback only, a free readiness port (it binds 0.0.0.0). */
export function kubeOidcProxyServingFlags(
  credentials: KubeOidcProxyCredentials,
  port: number,
  readinessPort: number,
): string[] {
  return [
    "--bind-address=127.0.0.1",
    `--secure-port=${port}`,
    `--tls-cert-file=${credentials.certFile}`,
    `--tls-private-key-file=${credentials.keyFile}`,
    `--kubeconfig=${credentials.kubeconfig}`,
    `--readiness-probe-port=${readinessPort}`,
  ];
}

/** Starts kube-oidc-proxy and waits for its /ready (OIDC discovery and JWKS fetched). */
export async function startKubeOidcProxy(
  binary: KubeOidcProxyBinary,
  options: StartKubeOidcProxyOptions,
): Promise<RunningKubeOidcProxy> {
  const [port, readinessPort] = [await freePort(), await freePort()];
  const args = [...kubeOidcProxyServingFlags(options.credentials, port, readinessPort), ...options.args];
  let output = "";
  let child: ChildProcess;
  let stopChild: () => Promise<void>;
  if (options.spawn) {
    child = options.spawn(binary.path, args);
    stopChild = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    };
  } else {
    const supervised = spawnSupervised(binary.path, args, { cwd: repoRoot, env: process.env });
    child = supervised.child;
    stopChild = () => supervised.stop(5000);
  }
  const collect = (data: Buffer) => {
    output = (output + data.toString()).slice(-200_000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const running: RunningKubeOidcProxy = {
    url: `https://127.0.0.1:${port}`,
    readyUrl: `http://127.0.0.1:${readinessPort}/ready`,
    pid: () => child.pid,
    logs: () => output,
    stop: stopChild,
  };
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code, signal) => reject(new Error(`kube-oidc-proxy exited (${code ?? signal})`))),
  );
  exited.catch(() => {});
  try {
    await Promise.race([
      exited,
      waitFor("kube-oidc-proxy's /ready", async () => (await fetch(running.readyUrl)).status === 200, {
        timeoutMs: options.readyTimeoutMs ?? 30_000,
      }),
    ]);
  } catch (error) {
    await running.stop();
    throw new Error(`kube-oidc-proxy did not become ready: ${(error as Error).message}\n${output.slice(-4000)}`);
  }
  return running;
}
