// kube-oidc-proxy v0.3.0 (jetstack; the proxy the incident ran), built from the unmodified
// source tarball in ../shared/peers by testbed/peers/kube-oidc-proxy.ts (cached under
// .cache/peers/<version>-<tarball sha256>/): the Go module proxy refuses
// `go install github.com/jetstack/kube-oidc-proxy/...`, so it is built from source; only its
// dependencies come from the module proxy. When it cannot be built the benchmark says so and
// leaves the column out.
import type { TestBed } from "../../testbed/bed.ts";
import type { GatewayCredentials } from "../../testbed/gateway.ts";
import { clients } from "../../testbed/issuer/oidc-provider.ts";
import {
  ensureKubeOidcProxy as buildPeer,
  type KubeOidcProxyBinary,
  startKubeOidcProxy as startPeer,
} from "../../testbed/peers/kube-oidc-proxy.ts";
import { spawnTracked } from "../lib/processes.ts";
import type { Setup } from "./setup.ts";

export type BuildOutcome = { binary: KubeOidcProxyBinary } | { failure: string };

/** Finds or builds the binary (the first build fetches its modules: minutes). */
export async function ensureKubeOidcProxy(log: (line: string) => void): Promise<BuildOutcome> {
  try {
    return { binary: await buildPeer((line) => log(`bench: ${line}`)) };
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    const message = (stderr?.trim().split("\n").slice(-5).join(" ") || (error as Error).message).trim();
    return { failure: message };
  }
}

/**
 * One kube-oidc-proxy per upstream, configured like the bed's API server and the gateway (same
 * issuer, `email` username, groups prefixed "oidc:"), impersonating with the gateway's
 * ServiceAccount kubeconfig. Started directly (tracked by the benchmark) so the pid sampled for
 * CPU and memory is kube-oidc-proxy's own.
 */
export async function startKubeOidcProxy(
  binary: KubeOidcProxyBinary,
  bed: TestBed,
  credentials: GatewayCredentials,
  staticCredentials: GatewayCredentials,
): Promise<Setup> {
  const start = (creds: GatewayCredentials) =>
    startPeer(binary, {
      credentials: creds,
      args: [
        `--oidc-issuer-url=${bed.issuer.url}`,
        `--oidc-client-id=${clients.kubernetes.id}`,
        `--oidc-ca-file=${creds.caFile}`,
        "--oidc-username-claim=email",
        "--oidc-groups-claim=groups",
        "--oidc-groups-prefix=oidc:",
      ],
      spawn: (command, args) => spawnTracked(command, args),
    });
  const api = await start(credentials);
  const stat = await start(staticCredentials).catch(async (error: unknown) => {
    await api.stop();
    throw error;
  });
  const pid = (p: typeof api) => () => {
    const id = p.pid();
    return id ? [id] : [];
  };
  return {
    name: "kube-oidc-proxy",
    endpoints: { static: { url: stat.url, pids: pid(stat) }, api: { url: api.url, pids: pid(api) } },
    allPids: () => [...pid(api)(), ...pid(stat)()],
    description: `${binary.description}, one process per upstream`,
    stop: async () => {
      await Promise.all([api.stop(), stat.stop()]);
    },
  };
}
