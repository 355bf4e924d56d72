// An HTTP probe on an authenticating port gets 401 without a token, and the kubelet counts only
// 200–399 as success (Kubernetes docs: "Configure Liveness, Readiness and Startup Probes"), so
// the pod never becomes ready or is restarted forever. Probes of the gateway's and
// kube-oidc-proxy's Deployments are tried without credentials where doctor can reach them.
import { type Check, fail, pass, skipped } from "../check.ts";
import { isUnavailable } from "../context.ts";
import { requestJson } from "../http.ts";
import type { Probe, Workload } from "../workloads.ts";

/** The port a workload authenticates on and the one it answers probes on without a token. */
function portsOf(w: Workload): { authenticating: number; health?: number } {
  const int = (name: string, fallback: number) => Number.parseInt(w.flags.get(name) ?? "", 10) || fallback;
  if (w.role === "kube-oidc-gateway") {
    // The gateway accepts kube-oidc-proxy's --readiness-probe-port as another name for --health-port.
    const health = w.flags.has("health-port") ? "health-port" : "readiness-probe-port";
    return { authenticating: int("secure-port", 443), health: int(health, 8080) };
  }
  // kube-oidc-proxy: --secure-port defaults to 6443 (cmd/app/options/serving.go, BindPort), readiness
  // on --readiness-probe-port (8080, /ready).
  return { authenticating: int("secure-port", 6443), health: int("readiness-probe-port", 8080) };
}

function resolvePort(w: Workload, port: number | string | undefined): number | undefined {
  if (typeof port === "number") return port;
  return w.ports.find((p) => p.name === port)?.containerPort ?? (port && /^\d+$/.test(port) ? Number(port) : undefined);
}

async function answer(url: URL, ca: string | undefined, timeoutMs: number): Promise<string | number> {
  try {
    return (await requestJson(url, { ca, timeoutMs })).status;
  } catch (error) {
    return (error as Error).message;
  }
}

const fix =
  "probe a port that answers without a token: kube-oidc-gateway's health port (--health-port, default 8080: /livez, /readyz), kube-oidc-proxy's --readiness-probe-port (/ready), or use a tcpSocket probe";

export const probe401: Check = {
  id: "probe-401",
  title: "health probes do not hit an authenticating endpoint",
  progress: "trying the health probes without credentials",
  async run(context) {
    const { options } = context;
    const evidence: string[] = [];
    const failures: string[] = [];
    let examined = 0;
    for (const url of options.probeUrls) {
      examined++;
      const status = await answer(url, options.gateway?.ca?.pem, options.checkTimeoutMs);
      evidence.push(`GET ${url.href} without credentials: ${typeof status === "number" ? `HTTP ${status}` : status}`);
      if (typeof status !== "number" || status < 200 || status > 399) failures.push(url.href);
    }
    const workloads = await context.workloads();
    if (isUnavailable(workloads)) evidence.push(workloads.unavailable);
    const probed = isUnavailable(workloads) ? [] : workloads.filter((w) => w.role !== "oauth2-proxy");
    for (const w of probed) {
      const ports = portsOf(w);
      for (const probe of w.probes as Probe[]) {
        const where = `${w.ref} ${probe.kind}`;
        examined++;
        if (!probe.httpGet) {
          evidence.push(`${where}: ${probe.tcpSocket ? "tcpSocket" : "exec/grpc"} probe, no HTTP status involved`);
          continue;
        }
        const port = resolvePort(w, probe.httpGet.port);
        const path = probe.httpGet.path ?? "/";
        if (port !== ports.authenticating) {
          evidence.push(`${where}: GET ${path} on port ${port}${port === ports.health ? " (the health port)" : ""}`);
          continue;
        }
        const gateway = options.gateway;
        if (gateway) {
          const status = await answer(new URL(path, gateway.url), gateway.ca?.pem, options.checkTimeoutMs);
          evidence.push(
            `${where}: GET ${path} on port ${port}, the authenticating port; through --gateway-url ${gateway.url.origin} without credentials: ${typeof status === "number" ? `HTTP ${status}` : status}`,
          );
          if (typeof status === "number" && status >= 200 && status <= 399) continue;
        } else {
          evidence.push(
            `${where}: GET ${path} on port ${port}, the authenticating port, which answers 401 without a token`,
          );
        }
        failures.push(where);
      }
    }
    if (examined === 0)
      return skipped(
        isUnavailable(workloads)
          ? `no probes to try: ${workloads.unavailable}, and no --probe-url`
          : "no probes to try: no gateway or kube-oidc-proxy Deployment with probes, and no --probe-url",
        evidence,
      );
    if (failures.length === 0) return pass("no probe depends on a token", evidence);
    return fail(
      `${failures.join(", ")} ${failures.length === 1 ? "answers" : "answer"} without success to an unauthenticated probe (probes pass only on 200–399)`,
      evidence,
      fix,
    );
  },
};
