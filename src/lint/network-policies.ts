// The ports a NetworkPolicy or CiliumNetworkPolicy allows, and which pods each port is meant
// for: a policy's own pods for ingress, its peers for egress.
//
// Kubernetes: NetworkPolicyPort.port is "the port on the given protocol ... on a pod"
// (https://kubernetes.io/docs/concepts/services-networking/network-policies/); an egress
// peer's podSelector without namespaceSelector means the policy's namespace.
// Cilium: toPorts apply to the endpoint's port after service translation
// (https://docs.cilium.io/en/stable/security/policy/language/#layer-4-examples); an
// endpointSelector without a namespace label means the policy's namespace for a
// CiliumNetworkPolicy and any namespace for a CiliumClusterwideNetworkPolicy.
//
// An object whose metadata.namespace is unset (common in `helm template` output, where the
// namespace comes from `helm install -n`) may land in any namespace, so the namespace part of a
// selector is taken to match it, as sameNamespace() does for plain namespace comparisons.
import type { ManifestObject, Path } from "./manifests.ts";
import { asArray, asRecord, asString, type Json, portNumber, sameNamespace, stringMap } from "./objects.ts";
import { ciliumKey, ciliumNamespaceLabel, ciliumSelectsNamespace, type Labels, selectorMatches } from "./selectors.ts";

/** A set of pods a policy rule talks about. */
export interface PodMatcher {
  matches(labels: Labels, namespace: string | undefined): boolean;
  /**
   * Whether the peer names no pods, only namespaces or everything (`podSelector: {}`, a lone
   * `namespaceSelector`, an endpointSelector with namespace labels only): it says nothing about
   * which Service a port is meant for.
   */
  readonly broad: boolean;
  /**
   * A `key=value` label every pod the peer selects carries (from matchLabels, namespace terms
   * left out), for indexing; undefined when the selector has none.
   */
  readonly requiredLabel: string | undefined;
}

function firstLabel(matchLabels: unknown, normalizeKey = (key: string) => key): string | undefined {
  const first = Object.entries(stringMap(matchLabels))[0];
  return first ? `${normalizeKey(first[0])}=${first[1]}` : undefined;
}

export interface AllowedPort {
  readonly port: number;
  /** TCP, UDP, SCTP, or ANY (Cilium). */
  readonly protocol: string;
  readonly path: Path;
}

export interface PolicyRule {
  readonly policy: ManifestObject;
  readonly direction: "ingress" | "egress";
  /** The pods the ports belong to. */
  readonly destinations: readonly PodMatcher[];
  readonly ports: readonly AllowedPort[];
}

export type NamespaceLabels = ReadonlyMap<string, Labels>;

export function namespaceLabels(objects: readonly ManifestObject[]): NamespaceLabels {
  const result = new Map<string, Labels>();
  for (const object of objects) {
    if (object.kind === "Namespace" && object.name) {
      result.set(object.name, stringMap(asRecord(object.body.metadata).labels));
    }
  }
  return result;
}

/** Labels a namespace carries, including the one Kubernetes sets on every namespace (1.21+). */
function labelsOfNamespace(namespace: string, namespaces: NamespaceLabels): Labels {
  return { ...namespaces.get(namespace), "kubernetes.io/metadata.name": namespace };
}

function isEmptySelector(selector: Json): boolean {
  return Object.keys(asRecord(selector.matchLabels)).length === 0 && asArray(selector.matchExpressions).length === 0;
}

function kubernetesPeer(
  policyNamespace: string | undefined,
  podSelector: unknown,
  namespaceSelector: unknown,
  namespaces: NamespaceLabels,
): PodMatcher {
  return {
    broad: podSelector === undefined || isEmptySelector(asRecord(podSelector)),
    requiredLabel: firstLabel(asRecord(podSelector).matchLabels),
    matches(labels, namespace) {
      if (podSelector !== undefined && !selectorMatches(podSelector, labels)) return false;
      if (namespaceSelector === undefined) return sameNamespace(namespace, policyNamespace);
      const selector = asRecord(namespaceSelector);
      if (isEmptySelector(selector) || namespace === undefined) return true;
      return selectorMatches(selector, labelsOfNamespace(namespace, namespaces));
    },
  };
}

function ciliumPeer(
  policyNamespace: string | undefined,
  clusterwide: boolean,
  selector: Json,
  namespaces: NamespaceLabels,
): PodMatcher {
  const namesNamespace = ciliumSelectsNamespace(selector);
  // For a pod of unknown namespace, only the selector's pod labels can be checked.
  const podPart = withoutNamespaceTerms(selector);
  return {
    broad: isEmptySelector(podPart),
    requiredLabel: firstLabel(podPart.matchLabels, ciliumKey),
    matches(labels, namespace) {
      if (namespace === undefined) return selectorMatches(podPart, labels, ciliumKey);
      const full: Record<string, string> = { ...labels, [ciliumNamespaceLabel]: namespace };
      for (const [key, value] of Object.entries(labelsOfNamespace(namespace, namespaces))) {
        full[`io.cilium.k8s.namespace.labels.${key}`] = value;
      }
      if (!selectorMatches(selector, full, ciliumKey)) return false;
      return namesNamespace || clusterwide || sameNamespace(namespace, policyNamespace);
    },
  };
}

const isNamespaceKey = (key: string) =>
  ciliumKey(key) === ciliumNamespaceLabel || ciliumKey(key).startsWith("io.cilium.k8s.namespace.");

/** A Cilium selector without its terms on the namespace (name or namespace labels). */
function withoutNamespaceTerms(selector: Json): Json {
  return {
    matchLabels: Object.fromEntries(
      Object.entries(stringMap(selector.matchLabels)).filter(([k]) => !isNamespaceKey(k)),
    ),
    matchExpressions: asArray(selector.matchExpressions).filter(
      (e) => !isNamespaceKey(asString(asRecord(e).key) ?? ""),
    ),
  };
}

function kubernetesPorts(ports: unknown, base: Path): AllowedPort[] {
  return asArray(ports).flatMap((entry, index) => {
    const port = asRecord(entry);
    const number = portNumber(port.port);
    // Named ports are resolved per pod by Kubernetes itself; ranges are left alone.
    if (number === undefined || port.endPort !== undefined) return [];
    return [{ port: number, protocol: asString(port.protocol) ?? "TCP", path: [...base, index, "port"] }];
  });
}

function ciliumPorts(toPorts: unknown, base: Path): AllowedPort[] {
  return asArray(toPorts).flatMap((entry, k) =>
    asArray(asRecord(entry).ports).flatMap((portEntry, m) => {
      const port = asRecord(portEntry);
      const number = portNumber(port.port);
      if (number === undefined || number === 0 || port.endPort !== undefined) return [];
      return [{ port: number, protocol: asString(port.protocol) ?? "ANY", path: [...base, k, "ports", m, "port"] }];
    }),
  );
}

/** Every rule of every network policy in the input, with the ports it allows. */
export function policyRules(objects: readonly ManifestObject[]): PolicyRule[] {
  const namespaces = namespaceLabels(objects);
  const rules: PolicyRule[] = [];
  for (const policy of objects) {
    if (policy.kind === "NetworkPolicy" && policy.apiVersion.startsWith("networking.k8s.io/")) {
      const spec = asRecord(policy.body.spec);
      const own = kubernetesPeer(policy.namespace, spec.podSelector ?? {}, undefined, namespaces);
      asArray(spec.ingress).forEach((entry, i) => {
        const ports = kubernetesPorts(asRecord(entry).ports, ["spec", "ingress", i, "ports"]);
        rules.push({ policy, direction: "ingress", destinations: [own], ports });
      });
      asArray(spec.egress).forEach((entry, i) => {
        const rule = asRecord(entry);
        const peers = asArray(rule.to)
          .map(asRecord)
          .filter((peer) => peer.podSelector !== undefined || peer.namespaceSelector !== undefined)
          .map((peer) => kubernetesPeer(policy.namespace, peer.podSelector, peer.namespaceSelector, namespaces));
        // An egress rule without peers allows its ports to any destination: nothing to relate.
        if (peers.length === 0) return;
        rules.push({
          policy,
          direction: "egress",
          destinations: peers,
          ports: kubernetesPorts(rule.ports, ["spec", "egress", i, "ports"]),
        });
      });
    }
    if (isCiliumPolicy(policy)) {
      const clusterwide = policy.kind === "CiliumClusterwideNetworkPolicy";
      const specs = ciliumSpecs(policy);
      for (const { spec, path } of specs) {
        if (spec.endpointSelector === undefined) continue;
        const own = ciliumPeer(policy.namespace, clusterwide, asRecord(spec.endpointSelector), namespaces);
        asArray(spec.ingress).forEach((entry, i) => {
          const ports = ciliumPorts(asRecord(entry).toPorts, [...path, "ingress", i, "toPorts"]);
          rules.push({ policy, direction: "ingress", destinations: [own], ports });
        });
        asArray(spec.egress).forEach((entry, i) => {
          const rule = asRecord(entry);
          const peers = asArray(rule.toEndpoints).map((selector) =>
            ciliumPeer(policy.namespace, clusterwide, asRecord(selector), namespaces),
          );
          if (peers.length === 0) return;
          const ports = ciliumPorts(rule.toPorts, [...path, "egress", i, "toPorts"]);
          rules.push({ policy, direction: "egress", destinations: peers, ports });
        });
      }
    }
  }
  return rules;
}

/** Whether a policy port's protocol covers a Service port's (Cilium's ANY covers all). */
export function protocolCovers(policyProtocol: string, serviceProtocol: string): boolean {
  return policyProtocol.toUpperCase() === "ANY" || policyProtocol.toUpperCase() === serviceProtocol.toUpperCase();
}

// ---- Egress reachability ---------------------------------------------------------------------
//
// Whether the egress policies that select a client pod let it reach one destination pod on one
// port, rule by rule, for the rules that say "this connection is dropped" (issuer-egress-blocked,
// netpol-service-port's any-destination case).
//
// Kubernetes (https://kubernetes.io/docs/concepts/services-networking/network-policies/): a pod
// is isolated for egress once a policy with Egress in policyTypes selects it (policyTypes left
// out means Ingress, plus Egress when the policy has egress rules); what it may send is then the
// union of those policies' rules. A rule with no `to` allows every destination, one with no
// `ports` every port; a port entry without `port` every port of its protocol (TCP by default); a
// named port is the destination pod's container port of that name. `ipBlock` is taken to reach
// no pod: the page says its CIDRs "should be cluster-external IPs, since Pod IPs are ephemeral and
// unpredictable", the Service translation rewrites the destination to a pod IP no stable CIDR
// names, and Cilium, which also enforces NetworkPolicy, never applies CIDR rules to pods ("By
// default, CIDR-based selectors do not match in-cluster entities (pods or nodes)").
//
// Cilium (https://docs.cilium.io/en/stable/security/policy/language/): an endpoint with egress
// rules is default-deny for egress unless enableDefaultDeny.egress is false; policies add up, a
// Kubernetes NetworkPolicy with them. toEndpoints selects pods by labels; toEntities `cluster`
// and `all` include every pod of the cluster, `world` "corresponds to all endpoints outside of the
// cluster" (so never a pod), the others (host, remote-node, kube-apiserver, health, ingress,
// init, unmanaged) no pod of a Deployment; toCIDR/toCIDRSet do not apply "where both sides of the
// connection are … managed by Cilium"; toFQDNs "are intended for external connections and behave
// similarly to CIDR based rules" (a Service name resolves to a ClusterIP that the pod's identity
// replaces after translation); toServices "will only take effect on Kubernetes services without a
// selector", and the Services lint relates always have one. A rule with no L3 field allows its
// ports to every destination. toPorts apply "after service port mapping"; port "0" or none means
// every port, protocol ANY or empty every protocol.

/** A pod a connection ends at, on its own port (after the Service translation). */
export interface Destination {
  readonly labels: Labels;
  readonly namespace: string | undefined;
  readonly port: number;
  readonly protocol: string;
  /** The names the pod gives that container port (a policy may allow a port by name). */
  readonly portNames: ReadonlySet<string>;
}

/** How one egress rule treats a connection. */
export interface EgressRuleVerdict {
  /** The rule, relative to the policy (e.g. `["spec", "egress", 2]`). */
  readonly path: Path;
  /** Whether its destinations (peers, entities) include the pod. */
  readonly reachesPod: boolean;
  /** Whether its ports include the pod's port. */
  readonly coversPort: boolean;
  /** What the rule allows, for messages: `TCP 443 to any destination`. */
  readonly summary: string;
  /** Whether it allows every destination (no `to`, no L3 field, or Cilium's all/cluster). */
  readonly anyDestination: boolean;
  /** Whether its only destination is Cilium's world entity (or other entities, CIDRs, FQDNs). */
  readonly outsideOnly: boolean;
  /** The numeric ports it names, for relating them to Service ports. */
  readonly ports: readonly AllowedPort[];
}

export interface EgressPolicy {
  readonly policy: ManifestObject;
  readonly engine: "kubernetes" | "cilium";
  /** Whether the policy isolates pods with these labels in this namespace for egress. */
  selects(labels: Labels, namespace: string | undefined): boolean;
  /** Every egress rule's verdict on a connection to `destination`. */
  verdicts(destination: Destination): EgressRuleVerdict[];
}

const rangeCovers = (port: Json, number: number, start: number | undefined): boolean => {
  if (start === undefined) return false;
  const end = portNumber(port.endPort);
  return end === undefined ? number === start : number >= start && number <= end;
};

function kubernetesPortsCover(ports: unknown, destination: Destination): boolean {
  const entries = asArray(ports).map(asRecord);
  if (entries.length === 0) return true;
  return entries.some((port) => {
    if ((asString(port.protocol) ?? "TCP").toUpperCase() !== destination.protocol.toUpperCase()) return false;
    if (port.port === undefined) return true;
    const number = portNumber(port.port);
    if (number !== undefined) return rangeCovers(port, destination.port, number);
    const name = asString(port.port);
    return name !== undefined && destination.portNames.has(name);
  });
}

function ciliumPortsCover(toPorts: unknown, destination: Destination): boolean {
  const groups = asArray(toPorts).map(asRecord);
  if (groups.length === 0) return true;
  return groups.some((group) => {
    const ports = asArray(group.ports).map(asRecord);
    if (ports.length === 0) return true;
    return ports.some((port) => {
      const protocol = (asString(port.protocol) ?? "ANY").toUpperCase();
      if (protocol !== "ANY" && protocol !== "" && protocol !== destination.protocol.toUpperCase()) return false;
      const number = portNumber(port.port);
      if (port.port === undefined || number === 0) return true;
      if (number !== undefined) return rangeCovers(port, destination.port, number);
      const name = asString(port.port);
      return name !== undefined && destination.portNames.has(name);
    });
  });
}

/** `TCP port 443`, `TCP ports 443, 6443`, `port 53` (any protocol), or `every port`. */
function portsText(ports: readonly AllowedPort[], any: boolean): string {
  if (any || ports.length === 0) return "every port";
  const byProtocol = new Map<string, Set<number>>();
  for (const port of ports) {
    const protocol = port.protocol.toUpperCase() === "ANY" ? "" : `${port.protocol.toUpperCase()} `;
    byProtocol.set(protocol, (byProtocol.get(protocol) ?? new Set()).add(port.port));
  }
  return [...byProtocol]
    .map(([protocol, numbers]) => `${protocol}port${numbers.size > 1 ? "s" : ""} ${[...numbers].join(", ")}`)
    .join(" and ");
}

const entityReachesPods = (entity: string) => entity === "all" || entity === "cluster";

/** Every policy that may isolate pods for egress, with a way to judge a connection. */
export function egressPolicies(objects: readonly ManifestObject[]): EgressPolicy[] {
  const namespaces = namespaceLabels(objects);
  const result: EgressPolicy[] = [];
  for (const policy of objects) {
    if (policy.kind === "NetworkPolicy" && policy.apiVersion.startsWith("networking.k8s.io/")) {
      const spec = asRecord(policy.body.spec);
      const types = asArray(spec.policyTypes).map((t) => asString(t));
      const egress = asArray(spec.egress);
      const isolates = spec.policyTypes === undefined ? egress.length > 0 : types.includes("Egress");
      if (!isolates) continue;
      const own = kubernetesPeer(policy.namespace, spec.podSelector ?? {}, undefined, namespaces);
      result.push({
        policy,
        engine: "kubernetes",
        selects: (labels, namespace) => own.matches(labels, namespace),
        verdicts: (destination) =>
          egress.map((entry, i) => {
            const rule = asRecord(entry);
            const path: Path = ["spec", "egress", i];
            const peers = asArray(rule.to).map(asRecord);
            const ports = kubernetesPorts(rule.ports, [...path, "ports"]);
            const anyPort = asArray(rule.ports).length === 0;
            const anyDestination = peers.length === 0;
            const selectorPeers = peers.filter((p) => p.podSelector !== undefined || p.namespaceSelector !== undefined);
            const reachesPod =
              anyDestination ||
              selectorPeers.some((p) =>
                kubernetesPeer(policy.namespace, p.podSelector, p.namespaceSelector, namespaces).matches(
                  destination.labels,
                  destination.namespace,
                ),
              );
            const to = anyDestination
              ? "any destination"
              : selectorPeers.length === 0
                ? "ipBlock CIDRs only (never a pod behind a Service)"
                : "the pods its `to` selects";
            return {
              path,
              reachesPod,
              coversPort: kubernetesPortsCover(rule.ports, destination),
              summary: `${portsText(ports, anyPort)} to ${to}`,
              anyDestination,
              outsideOnly: !anyDestination && selectorPeers.length === 0,
              ports,
            };
          }),
      });
    }
    if (isCiliumPolicy(policy)) {
      const clusterwide = policy.kind === "CiliumClusterwideNetworkPolicy";
      const specs = ciliumSpecs(policy);
      for (const { spec, path: base } of specs) {
        if (spec.endpointSelector === undefined) continue;
        const egress = asArray(spec.egress);
        const isolates =
          (egress.length > 0 || asArray(spec.egressDeny).length > 0) &&
          asRecord(spec.enableDefaultDeny).egress !== false;
        if (!isolates) continue;
        const own = ciliumPeer(policy.namespace, clusterwide, asRecord(spec.endpointSelector), namespaces);
        result.push({
          policy,
          engine: "cilium",
          selects: (labels, namespace) => own.matches(labels, namespace),
          verdicts: (destination) =>
            egress.map((entry, i) => {
              const rule = asRecord(entry);
              const path: Path = [...base, "egress", i];
              const endpoints = asArray(rule.toEndpoints);
              const entities = asArray(rule.toEntities).map((e) => asString(e) ?? "");
              const l3 = [
                "toEndpoints",
                "toEntities",
                "toCIDR",
                "toCIDRSet",
                "toFQDNs",
                "toServices",
                "toGroups",
                "toNodes",
              ];
              const anyDestination = !l3.some((key) => rule[key] !== undefined) || entities.some(entityReachesPods);
              const reachesPod =
                anyDestination ||
                endpoints.some((selector) =>
                  ciliumPeer(policy.namespace, clusterwide, asRecord(selector), namespaces).matches(
                    destination.labels,
                    destination.namespace,
                  ),
                );
              const ports = ciliumPorts(rule.toPorts, [...path, "toPorts"]);
              const anyPort = asArray(rule.toPorts).length === 0;
              const named = [
                ...(endpoints.length > 0 ? ["the endpoints its toEndpoints selects"] : []),
                ...entities.map((e) => `entity ${e}`),
                ...["toCIDR", "toCIDRSet", "toFQDNs", "toServices"].filter((k) => rule[k] !== undefined),
              ];
              return {
                path,
                reachesPod,
                coversPort: ciliumPortsCover(rule.toPorts, destination),
                summary: `${portsText(ports, anyPort)} to ${anyDestination && named.length === 0 ? "any destination" : named.join(", ")}`,
                anyDestination,
                outsideOnly: !anyDestination && endpoints.length === 0,
                ports,
              };
            }),
        });
      }
    }
  }
  return result;
}

function isCiliumPolicy(policy: ManifestObject): boolean {
  return (
    (policy.kind === "CiliumNetworkPolicy" || policy.kind === "CiliumClusterwideNetworkPolicy") &&
    policy.apiVersion.startsWith("cilium.io/")
  );
}

/** A Cilium policy's rule sets: its `spec` and each of its `specs` (both may be given), with their paths. */
function ciliumSpecs(policy: ManifestObject): { spec: Json; path: Path }[] {
  const specs: { spec: Json; path: Path }[] = [];
  if (policy.body.spec !== undefined) specs.push({ spec: asRecord(policy.body.spec), path: ["spec"] });
  asArray(policy.body.specs).forEach((spec, index) => {
    specs.push({ spec: asRecord(spec), path: ["specs", index] });
  });
  return specs;
}
