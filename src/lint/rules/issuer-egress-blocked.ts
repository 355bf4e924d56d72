// An OIDC client whose issuer is a Service of the input, isolated for egress by policies none of
// which lets it reach the issuer's pods on their port. The client then cannot fetch discovery or
// the JWKS: kube-oidc-gateway's /readyz never turns ready, kube-apiserver rejects every token.
// Issue 20: the chart rendered with issuer https://keycloak.keycloak.svc allowed 443 to any
// destination (NetworkPolicy) and world:443 (Cilium) while Keycloak's pods listen on 8443.
//
// Which programs' issuers are read: kube-oidc-gateway (flags, KOG_* variables, its --config file;
// oidc-issuer-url and session-issuer-url; its --authentication-config file's jwt[].issuer,
// discoveryURL before url since that is what it fetches), kube-oidc-proxy and kube-apiserver
// (--oidc-issuer-url; kube-apiserver's --authentication-config when a ConfigMap of the input
// holds it), Headlamp (-oidc-idp-issuer-url, or HEADLAMP_CONFIG_OIDC_IDP_ISSUER_URL).
import { parse as parseYaml } from "yaml";
import { configMapFileAt, gatewaySettings, isGateway } from "../gateway-config.ts";
import { isRecord, type ManifestObject } from "../manifests.ts";
import {
  type Destination,
  type EgressPolicy,
  type EgressRuleVerdict,
  egressPolicies,
  protocolCovers,
} from "../network-policies.ts";
import {
  asArray,
  asRecord,
  asString,
  type Container,
  commandLineFlags,
  containersOf,
  envOf,
  envVar,
  runs,
  type Workload,
  workloadsOf,
} from "../objects.ts";
import type { Rule, RuleHit } from "../rule.ts";
import { destinationsOf, type ServiceConnection, serviceConnection, servicesOf } from "../services.ts";

/** A URL a container connects to, and where the input says so. */
export interface ClientUrl {
  readonly workload: Workload;
  readonly container: Container;
  readonly url: string;
  /** How it is set, for messages: `--oidc-issuer-url=…`, a config file line. */
  readonly origin: string;
  /** The program, for messages: kube-oidc-gateway, kube-apiserver… */
  readonly program: string;
}

const kubeOidcProxy = /^kube-oidc-proxy$/;
const kubeApiServer = /^kube-apiserver$/;
const headlamp = /^headlamp(-server)?$/;

/**
 * `$(VAR)` in a command or argument, replaced by the container's variable as the kubelet does
 * (kubernetes v1.37.2 third_party/forked/golang/expansion/expand.go: `$$` is a literal `$`, a
 * name with no value here, e.g. from valueFrom, stays as written). Headlamp's chart passes
 * `-oidc-idp-issuer-url=$(OIDC_ISSUER_URL)`.
 */
export function expandVariables(text: string, container: Container): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (name === undefined) return "$";
    return envVar(container, name)?.value ?? match;
  });
}

/** The issuer URLs an AuthenticationConfiguration file of the container names (what is fetched). */
function authenticationConfigIssuers(container: Container, file: string, objects: readonly ManifestObject[]) {
  const found = configMapFileAt(container, file, objects);
  if (!found) return [];
  let parsed: unknown;
  try {
    parsed = parseYaml(asRecord(found.configMap.body.data)[found.key] as string);
  } catch {
    return [];
  }
  if (!isRecord(parsed)) return [];
  const where = `${found.key} of ConfigMap ${ref(found.configMap)}`;
  return asArray(parsed.jwt).flatMap((entry, index) => {
    const issuer = asRecord(asRecord(entry).issuer);
    const discovery = asString(issuer.discoveryURL);
    const url = discovery || asString(issuer.url);
    if (!url) return [];
    const field = discovery ? "discoveryURL" : "url";
    return [{ url, origin: `jwt[${index}].issuer.${field}: ${url} in ${where}` }];
  });
}

/** Every issuer URL the input's OIDC clients fetch from. */
export function issuerClients(objects: readonly ManifestObject[]): ClientUrl[] {
  const result: ClientUrl[] = [];
  for (const workload of workloadsOf(objects)) {
    for (const container of containersOf(workload)) {
      const add = (program: string, url: string, origin: string) => {
        if (!result.some((c) => c.container === container && c.url === url)) {
          result.push({ workload, container, url, origin, program });
        }
      };
      if (isGateway(container)) {
        const { settings } = gatewaySettings(container, objects);
        for (const name of ["oidc-issuer-url", "session-issuer-url"]) {
          const setting = settings.get(name);
          if (setting?.value) add("kube-oidc-gateway", setting.value, setting.origin);
        }
        const file = settings.get("authentication-config")?.value;
        if (file) {
          for (const issuer of authenticationConfigIssuers(container, file, objects)) {
            add("kube-oidc-gateway", issuer.url, issuer.origin);
          }
        }
        continue;
      }
      const flags = commandLineFlags(container);
      const flag = (name: string) => {
        const value = flags.filter((f) => f.name === name).at(-1)?.value;
        return value === undefined ? undefined : expandVariables(value, container);
      };
      const program = runs(container, kubeOidcProxy)
        ? "kube-oidc-proxy"
        : runs(container, kubeApiServer)
          ? "kube-apiserver"
          : runs(container, headlamp)
            ? "Headlamp"
            : undefined;
      if (program === "kube-oidc-proxy" || program === "kube-apiserver") {
        const url = flag("oidc-issuer-url");
        if (url) add(program, url, `--oidc-issuer-url=${url}`);
      }
      if (program === "kube-apiserver") {
        const file = flag("authentication-config");
        if (file) {
          for (const issuer of authenticationConfigIssuers(container, file, objects))
            add(program, issuer.url, issuer.origin);
        }
      }
      if (program === "Headlamp") {
        const url = flag("oidc-idp-issuer-url");
        if (url) add(program, url, `-oidc-idp-issuer-url=${url}`);
        const variable = envVar(container, "HEADLAMP_CONFIG_OIDC_IDP_ISSUER_URL");
        if (variable?.value) add(program, variable.value, `${variable.name}=${variable.value}`);
      }
    }
  }
  return result;
}

const urlPattern = /\bhttps?:\/\/[^\s"'`,;]+/g;

/**
 * Every http(s) URL written in a container's environment values, command or args, for rules that
 * relate a client to the Service it names (any program: a dashboard's API URL, a webhook's).
 */
export function urlClients(objects: readonly ManifestObject[]): ClientUrl[] {
  const result: ClientUrl[] = [];
  for (const workload of workloadsOf(objects)) {
    for (const container of containersOf(workload)) {
      const add = (url: string, origin: string) => {
        if (!result.some((c) => c.container === container && c.url === url)) {
          result.push({ workload, container, url, origin, program: `container ${container.name}` });
        }
      };
      for (const variable of envOf(container)) {
        for (const url of variable.value?.match(urlPattern) ?? []) add(url, `${variable.name}=${variable.value}`);
      }
      for (const field of ["command", "args"]) {
        for (const word of asArray(container.body[field])) {
          const written = asString(word);
          const text = written === undefined ? undefined : expandVariables(written, container);
          for (const url of text?.match(urlPattern) ?? []) add(url, `${field} ${written}`);
        }
      }
      // client-go's in-cluster configuration: https://KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT
      // (client-go v0.37.2 rest/config.go InClusterConfig), which dashboards set to reach a gateway;
      // left unset, the port is the one the kubelet injects for default/kubernetes, 443 as a rule.
      const host = envVar(container, "KUBERNETES_SERVICE_HOST")?.value;
      if (host) {
        const port = envVar(container, "KUBERNETES_SERVICE_PORT")?.value || "443";
        add(`https://${host}:${port}`, `KUBERNETES_SERVICE_HOST=${host}, KUBERNETES_SERVICE_PORT=${port}`);
      }
    }
  }
  return result;
}

/** The host and port a URL connects to; undefined for what is not an http(s) URL. */
export function hostPort(url: string): { host: string; port: number } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const defaults: Record<string, number> = { "https:": 443, "http:": 80 };
  const port = parsed.port ? Number(parsed.port) : defaults[parsed.protocol];
  if (port === undefined || !parsed.hostname) return undefined;
  return { host: parsed.hostname.replace(/^\[|\]$/g, ""), port };
}

/** A client's connection to a Service that the egress policies selecting it drop. */
export interface BlockedConnection {
  readonly client: ClientUrl;
  readonly connection: ServiceConnection;
  readonly destination: Destination;
  /** The policies that isolate the client for egress (each one lacks an allowing rule). */
  readonly policies: readonly EgressPolicy[];
}

/** Whether any rule of `policies` lets the connection reach one of its pods. */
function allowed(policies: readonly EgressPolicy[], destinations: readonly Destination[]): boolean {
  return destinations.some((d) => policies.some((p) => p.verdicts(d).some((v) => v.reachesPod && v.coversPort)));
}

/** The connections of `clients` to Services of the input that their egress policies drop. */
export function blockedConnections(
  objects: readonly ManifestObject[],
  clients: readonly ClientUrl[],
  policies: readonly EgressPolicy[] = egressPolicies(objects),
): BlockedConnection[] {
  if (policies.length === 0 || clients.length === 0) return [];
  const services = servicesOf(objects);
  const workloads = workloadsOf(objects);
  const result: BlockedConnection[] = [];
  for (const client of clients) {
    const target = hostPort(client.url);
    if (!target) continue;
    const connection = serviceConnection(target.host, target.port, client.workload.namespace, services, workloads);
    if (!connection) continue;
    const selecting = policies.filter((p) => p.selects(client.workload.labels, client.workload.namespace));
    if (selecting.length === 0) continue;
    const destinations = destinationsOf(connection);
    const [destination] = destinations;
    if (!destination || allowed(selecting, destinations)) continue;
    result.push({ client, connection, destination, policies: selecting });
  }
  return result;
}

const ref = (o: { namespace: string | undefined; name: string }) => `${o.namespace ? `${o.namespace}/` : ""}${o.name}`;

/**
 * How close a rule comes to allowing the connection: the right pods, then the right port, then
 * the Service port; among equals the one meant for outside destinations (world), then the one
 * with the fewest ports (the issuer's own rule rather than the API server's 443/6443).
 */
const closeness = (v: EgressRuleVerdict, servicePort: number) =>
  (v.reachesPod ? 4 : 0) +
  (v.coversPort ? 2 : 0) +
  (v.ports.some((p) => p.port === servicePort) ? 1 : 0) +
  (/entity world/.test(v.summary) ? 0.5 : 0) -
  v.ports.length / 1000;

const where = (path: readonly (string | number)[]) =>
  path.map((segment, i) => (typeof segment === "number" ? `[${segment}]` : i === 0 ? segment : `.${segment}`)).join("");

/** Why the closest rule misses the connection, in words. */
function whyMissed(v: EgressRuleVerdict, blocked: BlockedConnection, engine: EgressPolicy["engine"]): string {
  const { connection, destination } = blocked;
  const servicePort = connection.servicePort.port;
  const reasons: string[] = [];
  if (!v.reachesPod) {
    if (/entity world/.test(v.summary)) {
      reasons.push(
        "Cilium's world entity is every destination outside the cluster, so it never includes the issuer's pods",
      );
    } else if (v.outsideOnly && engine === "kubernetes") {
      reasons.push("ipBlock CIDRs do not select pods behind a Service (Pod IPs change; Cilium ignores CIDRs for pods)");
    } else if (v.outsideOnly) {
      reasons.push(
        "CIDR, FQDN, toServices and entity rules other than cluster/all never select a selector Service's pods",
      );
    } else {
      reasons.push("its destinations do not select the issuer's pods");
    }
  }
  if (!v.coversPort) {
    reasons.push(
      v.ports.some((p) => p.port === servicePort)
        ? `${servicePort} is the Service's port, and policies see the pod's port ${destination.port} after the Service translation`
        : `it does not allow the pod's port ${destination.port}`,
    );
  }
  return reasons.join("; ");
}

export const issuerEgressBlocked: Rule = {
  id: "issuer-egress-blocked",
  severity: "error",
  title: "egress policies drop the connection to an in-cluster OIDC issuer",
  description:
    "An OIDC client (kube-oidc-gateway, kube-oidc-proxy, kube-apiserver, Headlamp) has an issuer URL naming a " +
    "Service of the input, and the egress policies that select the client allow no rule to the Service's pods on " +
    "their targetPort. Discovery and JWKS requests are dropped, so no token can be verified.",
  remediation:
    "Allow egress to the issuer's pods (their labels and namespace) on the pod's port (the Service's targetPort), " +
    "not the Service port or Cilium's world entity.",
  *check({ objects }) {
    const seen = new Set<string>();
    for (const blocked of blockedConnections(objects, issuerClients(objects))) {
      const { client, connection, destination } = blocked;
      // A pod on the node's network (a kube-apiserver static pod, most often) is not an endpoint
      // that NetworkPolicy or a CiliumNetworkPolicy's endpointSelector isolates: the Kubernetes
      // network policy docs leave hostNetwork pods to the plugin (kubernetes/website#39875), and
      // OpenShift's say plainly they are unaffected. A policy that appears to select it says nothing.
      if (client.workload.spec.hostNetwork === true) continue;
      const { service, servicePort } = connection;
      const namespace = destination.namespace ?? service.object.namespace;
      const selector = Object.entries(service.selector);
      const named = typeof servicePort.targetPort === "string" ? ` (targetPort ${servicePort.targetPort})` : "";
      for (const policy of blocked.policies) {
        const key = `${ref(policy.policy)}|${policy.policy.kind}|${ref(client.workload.object)}|${ref(service.object)}|${destination.port}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const verdicts = policy.verdicts(destination);
        const closest = [...verdicts].sort(
          (a, b) => closeness(b, servicePort.port) - closeness(a, servicePort.port),
        )[0];
        const closestText = closest
          ? ` The closest rule, ${where(closest.path)}, allows ${closest.summary}: ${whyMissed(closest, blocked, policy.engine)}.`
          : "";
        const labels = selector.map(([k, v]) => `${k}: ${v}`).join(", ");
        const fix =
          policy.engine === "kubernetes"
            ? `Add an egress rule to ${policy.policy.kind} ${ref(policy.policy)}: ` +
              `{to: [{${namespace ? `namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ${namespace}}}, ` : ""}` +
              `podSelector: {matchLabels: {${labels}}}}], ports: [{port: ${destination.port}, protocol: TCP}]} ` +
              `(port ${destination.port} to the pods with labels ${labels}${namespace ? ` in namespace ${namespace}` : ""}).`
            : `Add an egress rule to ${policy.policy.kind} ${ref(policy.policy)}: ` +
              `{toEndpoints: [{matchLabels: {${namespace ? `k8s:io.kubernetes.pod.namespace: ${namespace}, ` : ""}${labels}}}], ` +
              `toPorts: [{ports: [{port: "${destination.port}", protocol: TCP}]}]} instead of world or the Service port.`;
        const hit: RuleHit = {
          object: policy.policy,
          path: closest?.path ?? [],
          message:
            `${client.program} in ${client.workload.object.kind} ${ref(client.workload.object)} fetches its OIDC issuer ` +
            `${client.url} (${client.origin}), which is Service ${ref(service.object)} port ${servicePort.port}, ` +
            `forwarded to the pods' port ${destination.port}${named}; this policy isolates its egress and no egress ` +
            `rule of the ${blocked.policies.length === 1 ? "policy" : `${blocked.policies.length} policies`} selecting it ` +
            `allows TCP ${destination.port} to those pods, so discovery and JWKS requests are dropped and no token ` +
            `can be verified.${closestText}`,
          fix,
        };
        yield hit;
      }
    }
  },
};

/** Whether a policy port is the port of a connection's Service (netpol-service-port's case). */
export const namesServicePort = (blocked: BlockedConnection, port: { port: number; protocol: string }) =>
  port.port === blocked.connection.servicePort.port &&
  protocolCovers(port.protocol, blocked.connection.servicePort.protocol);
