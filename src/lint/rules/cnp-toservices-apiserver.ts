// Cilium `toServices` aimed at the API server's `default/kubernetes` Service. That Service has
// no selector and its endpoints are the control plane's host addresses, which Cilium gives the
// reserved identity kube-apiserver (or host / remote-node), not the CIDR a toServices rule
// turns into; the rule allows nothing. Cilium's docs say to use the kube-apiserver entity
// (https://docs.cilium.io/en/stable/security/policy/language/#access-to-from-kube-apiserver;
// cilium #20067).
import type { Path } from "../manifests.ts";
import { asArray, asRecord, asString, type Json } from "../objects.ts";
import type { Rule } from "../rule.ts";
import { selectorMatches } from "../selectors.ts";

/** The labels kube-apiserver puts on default/kubernetes. */
const kubernetesServiceLabels = { component: "apiserver", provider: "kubernetes" };

function targetsApiServer(entry: Json, policyNamespace: string | undefined): boolean {
  const byName = asRecord(entry.k8sService);
  const bySelector = asRecord(entry.k8sServiceSelector);
  if (entry.k8sService !== undefined) {
    const namespace = asString(byName.namespace) ?? policyNamespace ?? "default";
    return byName.serviceName === "kubernetes" && namespace === "default";
  }
  if (entry.k8sServiceSelector !== undefined) {
    const namespace = asString(bySelector.namespace) ?? policyNamespace ?? "default";
    return namespace === "default" && selectorMatches(bySelector.selector, kubernetesServiceLabels);
  }
  return false;
}

export const cnpToservicesApiserver: Rule = {
  id: "cnp-toservices-apiserver",
  severity: "error",
  title: "Cilium toServices aimed at default/kubernetes (use the kube-apiserver entity)",
  description:
    "A CiliumNetworkPolicy egress rule selects the API server through toServices and the default/kubernetes " +
    "Service. Cilium identifies the API server by the reserved kube-apiserver entity, so the rule does not allow " +
    "the traffic and the pod cannot reach the API.",
  remediation: "Replace the toServices entry with `toEntities: [kube-apiserver]` (keep the toPorts).",
  *check({ objects }) {
    for (const policy of objects) {
      if (policy.kind !== "CiliumNetworkPolicy" && policy.kind !== "CiliumClusterwideNetworkPolicy") continue;
      const specs: { spec: Json; path: Path }[] = [];
      if (policy.body.spec !== undefined) specs.push({ spec: asRecord(policy.body.spec), path: ["spec"] });
      asArray(policy.body.specs).forEach((spec, index) => {
        specs.push({ spec: asRecord(spec), path: ["specs", index] });
      });
      for (const { spec, path } of specs) {
        for (const [i, rule] of asArray(spec.egress).entries()) {
          for (const [j, entry] of asArray(asRecord(rule).toServices).entries()) {
            if (!targetsApiServer(asRecord(entry), policy.namespace)) continue;
            yield {
              object: policy,
              path: [...path, "egress", i, "toServices", j],
              message:
                "toServices selects default/kubernetes, the API server's Service; Cilium gives the API server the " +
                "reserved identity kube-apiserver, so this rule allows no traffic to it",
              fix: "Use `toEntities: [kube-apiserver]` in this egress rule instead of toServices.",
            };
          }
        }
      }
    }
  },
};
