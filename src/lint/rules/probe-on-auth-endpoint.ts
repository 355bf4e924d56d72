// An httpGet probe aimed at a port that authenticates every request. The kubelet sends no
// credentials and counts only 200–399 as success
// (https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/),
// so the 401 makes the pod never ready (readiness) or restart forever (liveness). The incident's
// kube-oidc-proxy was fixed with tcpSocket probes.
//
// Default ports: kube-oidc-gateway serves on --secure-port 443 and its health endpoints on
// --health-port 8080, which it also accepts as --readiness-probe-port (kube-oidc-proxy's name,
// src/config/serve-flags.ts); both may come from flags, KOG_* variables or its --config file in
// a ConfigMap of the input (gateway-config.ts). The finding stays on the probe, which is what
// to change; its message names where the port is set. kube-oidc-proxy's --secure-port
// defaults to 6443 (jetstack/kube-oidc-proxy cmd/app/options/serving.go: `BindPort: 6443`),
// its --readiness-probe-port to 8080 (/ready).

import { type GatewaySettings, gatewaySettings, isGateway } from "../gateway-config.ts";
import type { ManifestObject } from "../manifests.ts";
import type { Container, Workload } from "../objects.ts";
import {
  asRecord,
  asString,
  commandLineFlags,
  containerPorts,
  containersOf,
  envVar,
  flagValue,
  portNumber,
  runs,
  workloadsOf,
} from "../objects.ts";
import type { Rule } from "../rule.ts";

/** Lists ports (numbers or names) that authenticate, for containers lint cannot recognise. */
export const authenticatingPortsAnnotation = "lint.kube-oidc-gateway.io/authenticating-ports";

interface Authenticator {
  readonly product: string;
  readonly ports: readonly { port: number; origin: string }[];
  /** Paths on those ports that answer without credentials. */
  readonly openPaths: readonly string[];
  /** What to probe instead. */
  readonly alternative: string;
}

const portOfAddress = (address: string) => portNumber(/:(\d+)$/.exec(address)?.[1]);

/** A flag's value (the last one, as pflag keeps), its variable's, or the default. */
function setting(container: Container, flag: string, env: string | undefined, fallback: string) {
  const given = commandLineFlags(container)
    .filter((f) => f.name === flag)
    .at(-1);
  if (given?.value !== undefined) return { value: given.value, origin: `--${given.name}=${given.value}` };
  const fromEnv = env ? envVar(container, env)?.value : undefined;
  if (fromEnv !== undefined) return { value: fromEnv, origin: `${env}=${fromEnv}` };
  return { value: fallback, origin: `--${flag} default ${fallback}` };
}

/** A kube-oidc-gateway setting (flags, then KOG_* variables, then its config file) or the default. */
function gatewaySetting(settings: GatewaySettings, flag: string, fallback: string) {
  const given = settings.settings.get(flag);
  return given
    ? { value: given.value, origin: given.origin }
    : { value: fallback, origin: `--${flag} default ${fallback}` };
}

function authenticatorOf(
  container: Container,
  workload: Workload,
  objects: readonly ManifestObject[],
): Authenticator | undefined {
  if (isGateway(container)) {
    const settings = gatewaySettings(container, objects);
    const secure = gatewaySetting(settings, "secure-port", "443");
    const health = gatewaySetting(settings, "health-port", "8080");
    return {
      product: "kube-oidc-gateway",
      ports: [{ port: Number(secure.value), origin: secure.origin }],
      openPaths: [],
      alternative: `an httpGet on the health port ${health.value} (/livez, /readyz), or a tcpSocket probe on ${secure.value}`,
    };
  }
  if (runs(container, /^kube-oidc-proxy$/)) {
    const secure = setting(container, "secure-port", undefined, "6443");
    const readiness = setting(container, "readiness-probe-port", undefined, "8080");
    return {
      product: "kube-oidc-proxy",
      ports: [{ port: Number(secure.value), origin: secure.origin }],
      openPaths: [],
      alternative: `a tcpSocket probe on ${secure.value}, or an httpGet on the readiness port ${readiness.value} path /ready`,
    };
  }
  if (runs(container, /^oauth2-proxy$/)) {
    // oauth2-proxy's own health endpoints answer without a session (--ping-path, --ready-path).
    const http = setting(container, "http-address", "OAUTH2_PROXY_HTTP_ADDRESS", "127.0.0.1:4180");
    const https = setting(container, "https-address", "OAUTH2_PROXY_HTTPS_ADDRESS", ":443");
    const ping = setting(container, "ping-path", "OAUTH2_PROXY_PING_PATH", "/ping").value;
    const ready = setting(container, "ready-path", "OAUTH2_PROXY_READY_PATH", "/ready").value;
    return {
      product: "oauth2-proxy",
      ports: [
        { port: portOfAddress(http.value) ?? 4180, origin: http.origin },
        { port: portOfAddress(https.value) ?? 443, origin: https.origin },
      ],
      openPaths: [ping, ready],
      alternative: `the unauthenticated paths ${ping} (liveness) and ${ready} (readiness) on the same port`,
    };
  }
  const declared =
    asString(workload.annotations[authenticatingPortsAnnotation]) ??
    asString(asRecord(asRecord(workload.object.body.metadata).annotations)[authenticatingPortsAnnotation]);
  if (declared !== undefined) {
    const ports = declared
      .split(",")
      .map((p) => p.trim())
      .flatMap((p) => {
        const port = portNumber(p) ?? containerPorts(container).find((c) => c.name === p)?.port;
        return port === undefined ? [] : [{ port, origin: `annotation ${authenticatingPortsAnnotation}` }];
      });
    return { product: `container ${container.name}`, ports, openPaths: [], alternative: "a tcpSocket probe" };
  }
  const flags = commandLineFlags(container);
  if (flagValue(flags, "oidc-issuer-url") && !runs(container, /^kube-apiserver$/)) {
    // Something that validates OIDC tokens itself; kube-apiserver serves /livez and /readyz
    // to anyone (system:public-info-viewer), so it is left out.
    const secure = setting(container, "secure-port", undefined, "443");
    return {
      product: `container ${container.name} (--oidc-issuer-url)`,
      ports: [{ port: Number(secure.value), origin: secure.origin }],
      openPaths: [],
      alternative: `a tcpSocket probe on ${secure.value}`,
    };
  }
  return undefined;
}

const probeKinds = ["livenessProbe", "readinessProbe", "startupProbe"] as const;

export const probeOnAuthEndpoint: Rule = {
  id: "probe-on-auth-endpoint",
  severity: "error",
  title: "HTTP probe on an authenticating port (the kubelet gets 401)",
  description:
    "A liveness, readiness or startup probe sends an httpGet to the authenticating port of kube-oidc-gateway, " +
    "kube-oidc-proxy, oauth2-proxy or a container declared to authenticate. The kubelet sends no credentials and " +
    "the answer is 401, so the pod never becomes ready or is restarted in a loop.",
  remediation:
    "Use a tcpSocket probe on that port, or an httpGet on the component's unauthenticated health port or path.",
  *check({ objects }) {
    for (const workload of workloadsOf(objects)) {
      for (const container of containersOf(workload)) {
        const authenticator = authenticatorOf(container, workload, objects);
        if (!authenticator) continue;
        for (const kind of probeKinds) {
          const httpGet = asRecord(asRecord(container.body[kind]).httpGet);
          if (httpGet.port === undefined) continue;
          const named = asString(httpGet.port) ?? "";
          const port = portNumber(httpGet.port) ?? containerPorts(container).find((p) => p.name === named)?.port;
          const target = authenticator.ports.find((p) => p.port === port);
          if (port === undefined || !target) continue;
          const path = asString(httpGet.path) ?? "/";
          if (authenticator.openPaths.includes(path)) continue;
          const scheme = (asString(httpGet.scheme) ?? "HTTP").toLowerCase();
          yield {
            object: workload.object,
            path: [...container.path, kind, "httpGet", "port"],
            message:
              `${kind} of container ${container.name} GETs ${scheme}://:${port}${path}${named && portNumber(named) === undefined ? ` (port ${named})` : ""}, ` +
              `the authenticating port of ${authenticator.product} (${target.origin}); the kubelet sends no ` +
              "credentials, gets 401, and probes pass only on 200–399",
            fix: `Use ${authenticator.alternative}.`,
          };
        }
      }
    }
  },
};
