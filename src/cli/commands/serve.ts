import type { Command } from "../command.ts";

export const serve: Command = {
  name: "serve",
  summary: "run the authenticating, impersonating gateway to the Kubernetes API",
  trackedIn: "issue #5",
  help: `Usage: kube-oidc-gateway serve [flags]

Runs the gateway: an HTTPS reverse proxy for the Kubernetes API that validates OIDC id tokens
exactly as kube-apiserver would (the same --oidc-* flags, or an AuthenticationConfiguration
file) and forwards each request under its own ServiceAccount with Impersonate-* headers, so the
cluster's API server needs no OIDC configuration. Watches stream, exec/attach/port-forward
upgrades pass through, and errors come back as Kubernetes Status objects kubectl understands.

It accepts kube-apiserver's --oidc-* flags and kube-oidc-proxy's serving flags, so a
kube-oidc-proxy Deployment can switch images and keep its arguments.`,
};
