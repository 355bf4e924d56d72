// A network policy that allows a Service's port where the pod listens on another port. Policies
// are enforced on the pod's side of the Service translation, so the Service port allows
// nothing: the incident's egress rule named 443 while kube-oidc-proxy listened on 8443.

import type { ManifestObject } from "../manifests.ts";
import { egressPolicies, type PodMatcher, policyRules, protocolCovers } from "../network-policies.ts";
import type { Workload } from "../objects.ts";
import { containerPorts, containersOf, workloadsOf } from "../objects.ts";
import type { Rule, RuleHit } from "../rule.ts";
import { resolveTargetPort, type Service, servicesOf, workloadsBehind } from "../services.ts";
import {
  type BlockedConnection,
  blockedConnections,
  issuerClients,
  namesServicePort,
  urlClients,
} from "./issuer-egress-blocked.ts";

/** A Service with what the rule needs of it, computed once per run. */
interface IndexedService {
  readonly service: Service;
  readonly behind: readonly Workload[];
  /** Every container port the pods behind it declare. */
  readonly listening: ReadonlySet<number>;
}

/** How a rule's peers relate to a Service: through a peer naming pods, only broad ones, or not. */
type Relation = "specific" | "broad" | undefined;

function relation(destinations: readonly PodMatcher[], indexed: IndexedService): Relation {
  const { service, behind } = indexed;
  let found: Relation;
  for (const peer of destinations) {
    const selects =
      // The Service's selector labels are labels every pod behind it carries…
      peer.matches(service.selector, service.object.namespace) ||
      // …and the workloads in the input add the labels the selector does not name.
      behind.some((w) => peer.matches(w.labels, w.namespace ?? service.object.namespace));
    if (!selects) continue;
    if (!peer.broad) return "specific";
    found = "broad";
  }
  return found;
}

interface ServiceIndex {
  /** Service port number → the Services that have it. */
  readonly byPort: ReadonlyMap<number, readonly IndexedService[]>;
  /** `key=value` → the Services whose selector or pods carry that label. */
  readonly byLabel: ReadonlyMap<string, readonly IndexedService[]>;
}

/**
 * The Services with a selector, each with its pods' workloads, computed once and indexed by
 * port and by label: relating every policy rule to every Service made large inputs take minutes.
 */
function indexServices(objects: readonly ManifestObject[]): ServiceIndex {
  const workloads = workloadsOf(objects);
  // Only workloads whose labels include a Service's first selector label can be behind it.
  const workloadsByLabel = new Map<string, Workload[]>();
  for (const workload of workloads) {
    for (const [key, value] of Object.entries(workload.labels)) push(workloadsByLabel, `${key}=${value}`, workload);
  }
  const byPort = new Map<number, IndexedService[]>();
  const byLabel = new Map<string, IndexedService[]>();
  for (const service of servicesOf(objects)) {
    const first = Object.entries(service.selector)[0];
    if (!first) continue;
    const behind = workloadsBehind(service, workloadsByLabel.get(`${first[0]}=${first[1]}`) ?? []);
    const listening = new Set(
      behind.flatMap((w) => containersOf(w).flatMap((c) => containerPorts(c).map((p) => p.port))),
    );
    const indexed = { service, behind, listening };
    for (const port of new Set(service.ports.map((p) => p.port))) push(byPort, port, indexed);
    const labels = new Set<string>();
    for (const source of [service.selector, ...behind.map((w) => w.labels)]) {
      for (const [key, value] of Object.entries(source)) labels.add(`${key}=${value}`);
    }
    for (const label of labels) push(byLabel, label, indexed);
  }
  return { byPort, byLabel };
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** The Services a rule's peers may select: by a label every peer requires, else all with the port. */
function candidates(destinations: readonly PodMatcher[], index: ServiceIndex, port: number): Iterable<IndexedService> {
  const onPort = index.byPort.get(port) ?? [];
  if (destinations.some((peer) => peer.requiredLabel === undefined)) return onPort;
  const result = new Set<IndexedService>();
  for (const peer of destinations) {
    for (const indexed of index.byLabel.get(peer.requiredLabel as string) ?? []) {
      if (indexed.service.ports.some((p) => p.port === port)) result.add(indexed);
    }
  }
  return result;
}

const ref = (o: { namespace: string | undefined; name: string }) => `${o.namespace ? `${o.namespace}/` : ""}${o.name}`;

export const netpolServicePort: Rule = {
  id: "netpol-service-port",
  severity: "error",
  title: "network policy allows a Service's port instead of the pod's targetPort",
  description:
    "A NetworkPolicy or CiliumNetworkPolicy port equals the port of a Service whose pods it selects, but the " +
    "Service forwards to a different targetPort. Policies apply to the pod's port after service translation, so " +
    "the connection is dropped.",
  remediation: "Allow the targetPort (the container port the pod listens on), not the Service port.",
  *check({ objects }) {
    const index = indexServices(objects);
    const policies = egressPolicies(objects);
    // A dropped connection to an issuer is issuer-egress-blocked's finding, whichever rule comes
    // closest: one finding per cause.
    const issuers = blockedConnections(objects, issuerClients(objects), policies);
    const reportedAsIssuer = (policy: ManifestObject, service: Service, port: { port: number; protocol: string }) =>
      issuers.some(
        (b) =>
          b.connection.service.object === service.object &&
          b.policies.some((p) => p.policy === policy) &&
          namesServicePort(b, port),
      );
    for (const rule of policyRules(objects)) {
      const allowed = new Set(rule.ports.map((p) => p.port));
      // Each Service is related to the rule's peers once, however many of its ports match.
      const relations = new Map<IndexedService, Relation>();
      for (const allowedPort of rule.ports) {
        for (const indexed of candidates(rule.destinations, index, allowedPort.port)) {
          if (!relations.has(indexed)) relations.set(indexed, relation(rule.destinations, indexed));
          const related = relations.get(indexed);
          if (!related) continue;
          const { service, behind } = indexed;
          for (const servicePort of service.ports) {
            if (servicePort.port !== allowedPort.port) continue;
            if (!protocolCovers(allowedPort.protocol, servicePort.protocol)) continue;
            const targets = resolveTargetPort(servicePort, behind);
            // Nothing to say when the target is unknown, equal, or also allowed by the rule,
            // or when the pods listen on the Service port too (another Service may use it).
            if (targets.length === 0 || targets.some((t) => t.port === allowedPort.port || allowed.has(t.port)))
              continue;
            if (indexed.listening.has(allowedPort.port)) continue;
            if (rule.direction === "egress" && reportedAsIssuer(rule.policy, service, allowedPort)) continue;
            const target = targets.map((t) => t.port).join(" or ");
            const named =
              typeof servicePort.targetPort === "string"
                ? ` (the container port named ${servicePort.targetPort}${targets[0]?.container ? ` in container ${targets[0].container}` : ""})`
                : "";
            const broad =
              related === "broad"
                ? "; the rule's peers select whole namespaces or every pod rather than these pods, so the port " +
                  "may be meant for other destinations"
                : "";
            const hit: RuleHit = {
              object: rule.policy,
              path: allowedPort.path,
              message:
                `${rule.direction} port ${allowedPort.port} is the port of Service ${ref(service.object)}, which ` +
                `forwards it to targetPort ${target}${named}; the policy is enforced on the pod's port after the ` +
                `Service translation, so connections to ${ref(service.object)}:${allowedPort.port} are dropped${broad}`,
              fix:
                related === "broad"
                  ? `If the rule is meant for ${ref(service.object)}, allow port ${target} (the pod's port) and select its pods.`
                  : `Allow port ${target} (the pod's port) instead of ${allowedPort.port}.`,
              ...(related === "broad" ? { ceiling: "info" as const } : {}),
            };
            yield hit;
          }
        }
      }
    }
    yield* anyDestinationHits(objects, policies, issuers);
  },
};

const connectionKey = (b: BlockedConnection) =>
  `${ref(b.client.workload.object)}|${b.client.workload.object.kind}|${ref(b.connection.service.object)}|${b.connection.servicePort.port}`;

/**
 * An egress rule with no destination (NetworkPolicy without `to`, Cilium without an L3 field or
 * toEntities cluster/all) on a Service's port says nothing about which Service it is meant for,
 * so on its own it is not reported. It is when the input shows a pod the policy isolates
 * connecting to that Service (a URL in its environment or arguments) and no egress rule lets the
 * connection reach the Service's pods on their port: then the Service port is the mistake.
 * Issuer connections are left to issuer-egress-blocked.
 */
function* anyDestinationHits(
  objects: readonly ManifestObject[],
  policies: ReturnType<typeof egressPolicies>,
  issuers: readonly BlockedConnection[],
): Generator<RuleHit> {
  const issuerKeys = new Set(issuers.map(connectionKey));
  const seen = new Set<string>();
  for (const blocked of blockedConnections(objects, urlClients(objects), policies)) {
    if (issuerKeys.has(connectionKey(blocked))) continue;
    const { client, connection, destination } = blocked;
    const { service } = connection;
    for (const policy of blocked.policies) {
      for (const verdict of policy.verdicts(destination)) {
        if (!verdict.anyDestination || verdict.coversPort) continue;
        for (const port of verdict.ports) {
          if (!namesServicePort(blocked, port)) continue;
          const key = `${policy.policy.kind}|${ref(policy.policy)}|${port.path.join(".")}|${ref(service.object)}`;
          if (seen.has(key)) continue;
          seen.add(key);
          yield {
            object: policy.policy,
            path: port.path,
            message:
              `egress port ${port.port} (to any destination) is the port of Service ${ref(service.object)}, which ` +
              `${client.workload.object.kind} ${ref(client.workload.object)} connects to (${client.origin}); the ` +
              `Service forwards it to targetPort ${destination.port}, and the policy is enforced on the pod's port ` +
              `after the Service translation, so no egress rule selecting it lets the connection through`,
            fix:
              `Allow port ${destination.port} (the pod's port) to the pods of ${ref(service.object)} ` +
              `(${Object.entries(service.selector)
                .map(([k, v]) => `${k}=${v}`)
                .join(", ")}).`,
          };
        }
      }
    }
  }
}
