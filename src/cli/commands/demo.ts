import type { Command } from "../command.ts";

export const demo: Command = {
  name: "demo",
  summary: "bring up the whole chain on this machine: issuer, kube-apiserver, gateway, kubectl",
  trackedIn: "issue #9",
  help: `Usage: kube-oidc-gateway demo [--once]

Starts a real kube-apiserver and an OpenID provider on loopback, binds an RBAC role to a demo
user, starts the gateway in front and walks through kubectl requests that are allowed and denied
through it. Until the gateway exists, \`npm run testbed\` starts the issuer and kube-apiserver
part of this chain.`,
};
