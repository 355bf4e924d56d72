import type { Command } from "../command.ts";

export const doctor: Command = {
  name: "doctor",
  summary: "check a live OIDC setup end to end and name the root cause of what is broken",
  trackedIn: "issue #8",
  help: `Usage: kube-oidc-gateway doctor [flags]

Runs the OIDC debugging procedure against a live cluster: the API server's OIDC configuration,
issuer and audience, username and group mapping against the RBAC bindings that exist (including
near misses such as a missing or doubled prefix), TLS trust of each hop, refresh timing,
reachability and probes. Each check reports pass, warn, fail or skipped, with its evidence and
the fix.`,
};
