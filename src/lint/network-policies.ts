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
    if (
      (policy.kind === "CiliumNetworkPolicy" || policy.kind === "CiliumClusterwideNetworkPolicy") &&
      policy.apiVersion.startsWith("cilium.io/")
    ) {
      const clusterwide = policy.kind === "CiliumClusterwideNetworkPolicy";
      const specs: { spec: Json; path: Path }[] = [];
      if (policy.body.spec !== undefined) specs.push({ spec: asRecord(policy.body.spec), path: ["spec"] });
      asArray(policy.body.specs).forEach((spec, index) => {
        specs.push({ spec: asRecord(spec), path: ["specs", index] });
      });
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
