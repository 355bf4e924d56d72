// Every setting of `serve`. Names follow kube-apiserver (--oidc-*) and kube-oidc-proxy (serving
// flags) so their users' arguments keep working.
import type { FlagSpec } from "./flags.ts";

const oidc = "OIDC authentication (kube-apiserver's flags and rules)";
const serving = "Serving";
const upstream = "Upstream Kubernetes API server";
const operations = "Operations";

export const serveFlags: readonly FlagSpec[] = [
  {
    name: "config",
    type: "string",
    group: operations,
    help: "YAML or JSON file whose keys are these flag names; flags and environment variables override it",
  },
  {
    name: "authentication-config",
    type: "string",
    group: oidc,
    help:
      "kube-apiserver's AuthenticationConfiguration file (apiserver.config.k8s.io v1, v1beta1 or v1alpha1): " +
      "several issuers, audiences, claim mappings and rules; re-read when it changes (a broken edit keeps the " +
      "previous configuration); mutually exclusive with the --oidc-* flags",
  },
  {
    name: "oidc-issuer-url",
    type: "string",
    group: oidc,
    help: "URL of the OpenID issuer, https only; must equal the tokens' iss claim (required)",
  },
  {
    name: "oidc-client-id",
    type: "string",
    group: oidc,
    help: "the audience tokens must carry in aud (required with --oidc-issuer-url)",
  },
  {
    name: "oidc-username-claim",
    type: "string",
    group: oidc,
    default: "sub",
    help: "claim that becomes the username; with email, email_verified must be true when present",
  },
  {
    name: "oidc-username-prefix",
    type: "string",
    group: oidc,
    help:
      "prefix for usernames. Empty: '<issuer-url>#' unless the claim is email (kube-apiserver's rule; " +
      "kube-oidc-proxy applied no prefix); '-' disables prefixing",
  },
  {
    name: "oidc-groups-claim",
    type: "string",
    group: oidc,
    help: "claim holding the groups, a string or an array of strings (none when empty)",
  },
  { name: "oidc-groups-prefix", type: "string", group: oidc, help: "prefix for every group, applied literally" },
  {
    name: "oidc-required-claim",
    type: "map",
    group: oidc,
    help: "claim=value that every token must carry with exactly that string value; repeatable",
  },
  {
    name: "oidc-signing-algs",
    type: "list",
    group: oidc,
    default: ["RS256"],
    help: "accepted signature algorithms: RS256/384/512, ES256/384/512, PS256/384/512 (never none or HS*)",
  },
  {
    name: "oidc-ca-file",
    type: "string",
    group: oidc,
    help: "PEM bundle to trust for the issuer (default: system roots)",
  },
  {
    name: "allow-system-identities",
    type: "bool",
    group: oidc,
    default: false,
    help: "accept usernames and groups from tokens that start with system: (refused by default)",
  },
  {
    name: "token-passthrough",
    type: "bool",
    group: oidc,
    default: false,
    help:
      "forward tokens that no configured issuer claims (e.g. ServiceAccount tokens) unchanged, without " +
      "impersonation, when a TokenReview says they are valid (the gateway needs create on tokenreviews)",
  },
  {
    name: "token-passthrough-audiences",
    type: "list",
    group: oidc,
    help: "audiences the TokenReview asks for (default: the API server's own)",
  },
  {
    name: "allow-nested-impersonation",
    type: "bool",
    group: oidc,
    default: false,
    help:
      "honour clients' Impersonate-* headers (kubectl --as) when SubjectAccessReviews say the authenticated " +
      "user may impersonate each item (the gateway needs create on subjectaccessreviews); refused with 403 otherwise",
  },
  {
    name: "token-cache-ttl",
    type: "duration",
    group: oidc,
    default: "10s",
    help: "how long a validated token's identity is reused, never past its exp (kube-apiserver: 10s)",
  },
  {
    name: "bind-address",
    type: "string",
    group: serving,
    default: "0.0.0.0",
    help: "address the HTTPS listener binds",
  },
  { name: "secure-port", type: "int", group: serving, default: 443, help: "HTTPS port for clients" },
  {
    name: "tls-cert-file",
    type: "string",
    group: serving,
    help: "serving certificate (PEM, chain allowed); reloaded when the file changes (required)",
  },
  {
    name: "tls-private-key-file",
    type: "string",
    group: serving,
    help: "serving key (PEM); reloaded with the certificate (required)",
  },
  {
    name: "health-port",
    type: "int",
    group: serving,
    default: 8080,
    aliases: ["readiness-probe-port"],
    help: "plain-HTTP port for /livez, /readyz (also /ready) and /metrics; needs no token; 0 disables it",
  },
  {
    name: "health-bind-address",
    type: "string",
    group: serving,
    default: "0.0.0.0",
    help: "address the health port binds",
  },
  {
    name: "max-header-bytes",
    type: "int",
    group: serving,
    default: 262144,
    help:
      "largest request header block accepted (id tokens with many groups are large; kube-apiserver allows 1 MiB); " +
      "larger requests get 431",
  },
  {
    name: "trusted-proxies",
    type: "list",
    group: serving,
    help: "client addresses whose X-Forwarded-For is believed (e.g. an ingress); others' is replaced",
  },
  {
    name: "kubeconfig",
    type: "string",
    group: upstream,
    help:
      "kubeconfig for the gateway's own credentials; empty: in-cluster (KUBERNETES_SERVICE_HOST/PORT, " +
      "the ServiceAccount token file re-read as it rotates, and ca.crt)",
  },
  {
    name: "upstream-ca-file",
    type: "string",
    group: upstream,
    help: "extra PEM bundle trusted for the API server, added to the kubeconfig's or in-cluster CA",
  },
  {
    name: "upstream-timeout",
    type: "duration",
    group: upstream,
    default: "60s",
    help: "how long to wait for the API server's response headers (watches and upgrades are exempt)",
  },
  {
    name: "log-level",
    type: "string",
    group: operations,
    default: "info",
    help: "debug, info, warn or error; logs are JSON lines on stderr and never contain tokens",
  },
  {
    name: "audit-log-path",
    type: "string",
    group: operations,
    help:
      "JSON-lines file (or - for stdout) recording each request the gateway refused itself (time, user, " +
      "groups, verb, path, status, latency, reason, source IP): those never reach the API server's audit log",
  },
  {
    name: "shutdown-grace-period",
    type: "duration",
    group: operations,
    default: "30s",
    help: "on SIGTERM: how long in-flight requests may finish before streams are closed",
  },
];
