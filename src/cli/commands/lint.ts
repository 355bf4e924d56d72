import type { Command } from "../command.ts";

export const lint: Command = {
  name: "lint",
  summary: "flag OIDC misconfigurations in Kubernetes manifests before they ship",
  trackedIn: "issue #8",
  help: `Usage: kube-oidc-gateway lint [flags] <file|folder|->...

Reads manifests (files, folders, or rendered Helm output on standard input) and reports the
misconfigurations that break OIDC login to Kubernetes: prefixes that make RBAC bindings miss,
CA bundles the client never reads, network policies naming the Service port instead of the pod
port, probes pointed at an authenticating endpoint, and more.`,
};
