// A network policy that allows a Service's port where the pod listens on another port. Policies
// are enforced on the pod's side of the Service translation, so the Service port allows
// nothing: the incident's egress rule named 443 while kube-oidc-proxy listened on 8443.

import { type PolicyRule, policyRules, protocolCovers } from "../network-policies.ts";
import type { Workload } from "../objects.ts";
import { containerPorts, containersOf, workloadsOf } from "../objects.ts";
import type { Rule, RuleHit } from "../rule.ts";
import { resolveTargetPort, type Service, servicesOf, workloadsBehind } from "../services.ts";

function selectedBy(rule: PolicyRule, service: Service, workloads: readonly Workload[]): boolean {
  if (Object.keys(service.selector).length === 0) return false;
  return rule.destinations.some(
    (peer) =>
      // The Service's selector labels are labels every pod behind it carries…
      peer.matches(service.selector, service.object.namespace) ||
      // …and the workloads in the input add the labels the selector does not name.
      workloadsBehind(service, workloads).some((w) => peer.matches(w.labels, w.namespace ?? service.object.namespace)),
  );
}

function listensOn(behind: readonly Workload[], port: number): boolean {
  return behind.some((w) => containersOf(w).some((c) => containerPorts(c).some((p) => p.port === port)));
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
    const services = servicesOf(objects);
    const workloads = workloadsOf(objects);
    for (const rule of policyRules(objects)) {
      const allowed = new Set(rule.ports.map((p) => p.port));
      for (const allowedPort of rule.ports) {
        for (const service of services) {
          if (!selectedBy(rule, service, workloads)) continue;
          const behind = workloadsBehind(service, workloads);
          for (const servicePort of service.ports) {
            if (servicePort.port !== allowedPort.port) continue;
            if (!protocolCovers(allowedPort.protocol, servicePort.protocol)) continue;
            const targets = resolveTargetPort(servicePort, behind);
            // Nothing to say when the target is unknown, equal, or also allowed by the rule,
            // or when the pods listen on the Service port too (another Service may use it).
            if (targets.length === 0 || targets.some((t) => t.port === allowedPort.port || allowed.has(t.port)))
              continue;
            if (listensOn(behind, allowedPort.port)) continue;
            const target = targets.map((t) => t.port).join(" or ");
            const named =
              typeof servicePort.targetPort === "string"
                ? ` (the container port named ${servicePort.targetPort}${targets[0]?.container ? ` in container ${targets[0].container}` : ""})`
                : "";
            const hit: RuleHit = {
              object: rule.policy,
              path: allowedPort.path,
              message:
                `${rule.direction} port ${allowedPort.port} is the port of Service ${ref(service.object)}, which ` +
                `forwards it to targetPort ${target}${named}; the policy is enforced on the pod's port after the ` +
                `Service translation, so connections to ${ref(service.object)}:${allowedPort.port} are dropped`,
              fix: `Allow port ${target} (the pod's port) instead of ${allowedPort.port}.`,
            };
            yield hit;
          }
        }
      }
    }
  },
};
