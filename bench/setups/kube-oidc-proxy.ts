// kube-oidc-proxy, built from the Go module proxy: TremoloSecurity's maintained fork first,
// jetstack's last release otherwise. The binary is cached under .cache/kube-oidc-proxy/<version>/.
// When no candidate can be fetched or built the benchmark says so and leaves the column out.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { TestBed } from "../../testbed/bed.ts";
import { withCacheLock } from "../../testbed/cache-lock.ts";
import type { GatewayCredentials } from "../../testbed/gateway.ts";
import { waitFor } from "../../testbed/http.ts";
import { clients } from "../../testbed/issuer/oidc-provider.ts";
import { cacheDir } from "../../testbed/paths.ts";
import { freePort } from "../../testbed/ports.ts";
import { spawnTracked, stopProcess } from "../lib/processes.ts";
import type { Setup } from "./setup.ts";

const run = promisify(execFile);
const candidates = ["github.com/TremoloSecurity/kube-oidc-proxy", "github.com/jetstack/kube-oidc-proxy"];

export interface KubeOidcProxyBinary {
  readonly module: string;
  readonly version: string;
  readonly path: string;
}

export type BuildOutcome = { binary: KubeOidcProxyBinary } | { failure: string };

/** Finds or builds the binary; every step is bounded in time. */
export async function ensureKubeOidcProxy(log: (line: string) => void): Promise<BuildOutcome> {
  const failures: string[] = [];
  for (const module of candidates) {
    try {
      const work = await mkdtemp(join(tmpdir(), "kog-bench-kop-"));
      try {
        await run("go", ["mod", "init", "bench.local/kop"], { cwd: work, timeout: 30_000 });
        const { stdout } = await run("go", ["mod", "download", "-json", `${module}@latest`], {
          cwd: work,
          timeout: 300_000,
        });
        const info = JSON.parse(stdout) as { Version: string; Dir: string; Error?: string };
        if (info.Error) throw new Error(info.Error);
        const dir = join(cacheDir, "kube-oidc-proxy", info.Version);
        const binary = { module, version: info.Version, path: join(dir, "kube-oidc-proxy") };
        if (existsSync(binary.path)) return { binary };
        await withCacheLock(
          dir,
          () => existsSync(binary.path),
          async () => {
            log(`bench: building ${module}@${info.Version} (cached under ${dir})`);
            const src = join(work, "src");
            await cp(info.Dir, src, { recursive: true });
            await run("chmod", ["-R", "u+w", src]);
            const staging = `${dir}.building`;
            await mkdir(staging, { recursive: true });
            const target = existsSync(join(src, "main.go")) ? "." : "./cmd/kube-oidc-proxy";
            await run("go", ["build", "-mod=mod", "-trimpath", "-o", join(staging, "kube-oidc-proxy"), target], {
              cwd: src,
              timeout: 900_000,
              env: { ...process.env, CGO_ENABLED: "0" },
            });
            await rm(dir, { recursive: true, force: true });
            await rename(staging, dir);
          },
        );
        return { binary };
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      const fromJson = /"Error": "([^"]*)"/.exec(stdout ?? "")?.[1];
      const message = (fromJson?.replaceAll("\\n", "\n").replaceAll("\\t", " ") || stderr || (error as Error).message)
        .trim()
        .split("\n")
        .map((line) => line.trim())
        .join(" ");
      failures.push(`${module}: ${message}`);
    }
  }
  return { failure: failures.join("; ") };
}

/** Starts it in front of the API server only (it cannot front the static stand-in meaningfully either way). */
export async function startKubeOidcProxy(
  binary: KubeOidcProxyBinary,
  bed: TestBed,
  credentials: GatewayCredentials,
  staticCredentials: GatewayCredentials,
): Promise<Setup> {
  const start = async (creds: GatewayCredentials) => {
    const port = await freePort();
    const child = spawnTracked(binary.path, [
      `--oidc-issuer-url=${bed.issuer.url}`,
      `--oidc-client-id=${clients.kubernetes.id}`,
      `--oidc-ca-file=${creds.caFile}`,
      "--oidc-username-claim=email",
      "--oidc-groups-claim=groups",
      "--oidc-groups-prefix=oidc:",
      "--bind-address=127.0.0.1",
      `--secure-port=${port}`,
      `--tls-cert-file=${creds.certFile}`,
      `--tls-private-key-file=${creds.keyFile}`,
      `--kubeconfig=${creds.kubeconfig}`,
    ]);
    const url = `https://127.0.0.1:${port}`;
    await waitFor(
      "kube-oidc-proxy to listen",
      async () => {
        if (child.exitCode !== null) throw new Error(`kube-oidc-proxy exited ${child.exitCode}`);
        return (await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined)) !== undefined;
      },
      { timeoutMs: 20_000 },
    );
    return { child, url };
  };
  const [api, stat] = [await start(credentials), await start(staticCredentials)];
  const pid = (c: typeof api) => () => (c.child.pid ? [c.child.pid] : []);
  return {
    name: "kube-oidc-proxy",
    endpoints: { static: { url: stat.url, pids: pid(stat) }, api: { url: api.url, pids: pid(api) } },
    allPids: () => [...pid(api)(), ...pid(stat)()],
    description: `${binary.module}@${binary.version}`,
    stop: async () => {
      await Promise.all([stopProcess(api.child), stopProcess(stat.child)]);
    },
  };
}
