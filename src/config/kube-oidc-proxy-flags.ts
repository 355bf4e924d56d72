// kube-oidc-proxy v0.3.0's 84 flags (its `--help`, kept in test/cli/fixtures/ and compared by a
// test), each with what the gateway does with it. docs/migrating-from-kube-oidc-proxy.md is
// generated from this list and serve's flag table (scripts/generate-docs.ts); a test runs the
// real CLI with every one of them.

/** A kube-oidc-proxy flag and, where the flag table alone does not say it, how the gateway differs. */
export interface KubeOidcProxyFlag {
  readonly name: string;
  /** pflag's shorthand, if kube-oidc-proxy registers one. */
  readonly short?: string;
  /** kube-oidc-proxy's default as its --help prints it. */
  readonly default?: string;
  /** A difference the migrating user must know (beyond "ignored"). */
  readonly note?: string;
}

export const kubeOidcProxyFlags: readonly KubeOidcProxyFlag[] = [
  // cmd/app/options/app.go
  { name: "disable-impersonation" },
  { name: "extra-user-header-client-ip" },
  { name: "extra-user-headers" },
  { name: "flush-interval", default: "50ms" },
  {
    name: "readiness-probe-port",
    short: "P",
    default: "8080",
    note: "an alias of --health-port, which also serves /livez and /metrics",
  },
  { name: "token-passthrough" },
  { name: "token-passthrough-audiences" },
  // cmd/app/options/oidc.go
  { name: "oidc-ca-file" },
  { name: "oidc-client-id" },
  { name: "oidc-groups-claim" },
  { name: "oidc-groups-prefix" },
  { name: "oidc-issuer-url" },
  { name: "oidc-required-claim" },
  { name: "oidc-signing-algs", default: "RS256" },
  { name: "oidc-username-claim", default: "sub" },
  {
    name: "oidc-username-prefix",
    note:
      "empty means '<issuer-url>#' unless the claim is email, as kube-apiserver (and kube-oidc-proxy's own help) " +
      "says; kube-oidc-proxy's code applied no prefix. Pass - for none",
  },
  // k8s.io/apiserver v0.18.0 pkg/server/options/serving.go, with serving.go's defaults
  { name: "bind-address", default: "0.0.0.0" },
  {
    name: "cert-dir",
    default: "/var/run/kubernetes",
    note: "kube-oidc-proxy's default when run as kube-oidc-proxy; serve has none",
  },
  { name: "http2-max-streams-per-connection", note: "0 means 100 (Go's default is 250)" },
  { name: "secure-port", default: "6443", note: "6443 when run as kube-oidc-proxy; serve's default is 443" },
  { name: "tls-cert-file" },
  { name: "tls-cipher-suites", note: "the RC4 and 3DES suites are refused: Node's OpenSSL has none" },
  { name: "tls-min-version" },
  { name: "tls-private-key-file" },
  { name: "tls-sni-cert-key" },
  // k8s.io/apiserver v0.18.0 pkg/server/options/audit.go
  { name: "audit-dynamic-configuration" },
  { name: "audit-log-batch-buffer-size", default: "10000" },
  { name: "audit-log-batch-max-size", default: "1" },
  { name: "audit-log-batch-max-wait" },
  { name: "audit-log-batch-throttle-burst" },
  { name: "audit-log-batch-throttle-enable" },
  { name: "audit-log-batch-throttle-qps" },
  { name: "audit-log-format", default: "json" },
  {
    name: "audit-log-maxage",
    note: "kube-oidc-proxy's default is 0 (kept forever); the gateway's is 366, as kube-apiserver's",
  },
  {
    name: "audit-log-maxbackup",
    note: "kube-oidc-proxy's default is 0 (no limit); the gateway's is 100, as kube-apiserver's",
  },
  {
    name: "audit-log-maxsize",
    note: "kube-oidc-proxy's default is 0 (never rotated); the gateway's is 100, as kube-apiserver's",
  },
  { name: "audit-log-mode", default: "blocking" },
  { name: "audit-log-path" },
  { name: "audit-log-truncate-enabled" },
  { name: "audit-log-truncate-max-batch-size", default: "10485760" },
  { name: "audit-log-truncate-max-event-size", default: "102400" },
  { name: "audit-log-version", default: "audit.k8s.io/v1" },
  { name: "audit-policy-file" },
  { name: "audit-webhook-batch-buffer-size", default: "10000" },
  { name: "audit-webhook-batch-max-size", default: "400" },
  { name: "audit-webhook-batch-max-wait", default: "30s" },
  { name: "audit-webhook-batch-throttle-burst", default: "15" },
  { name: "audit-webhook-batch-throttle-enable", default: "true" },
  { name: "audit-webhook-batch-throttle-qps", default: "10" },
  { name: "audit-webhook-config-file" },
  { name: "audit-webhook-initial-backoff", default: "10s" },
  { name: "audit-webhook-mode", default: "batch" },
  { name: "audit-webhook-truncate-enabled" },
  { name: "audit-webhook-truncate-max-batch-size", default: "10485760" },
  { name: "audit-webhook-truncate-max-event-size", default: "102400" },
  { name: "audit-webhook-version", default: "audit.k8s.io/v1" },
  // k8s.io/cli-runtime v0.18.0 pkg/genericclioptions/config_flags.go (cmd/app/options/client.go)
  { name: "certificate-authority" },
  { name: "client-certificate" },
  { name: "client-key" },
  { name: "cluster" },
  { name: "context" },
  {
    name: "insecure-skip-tls-verify",
    note: "refused when true: the gateway's credentials may impersonate anyone and go only to a verified server",
  },
  { name: "kubeconfig" },
  { name: "namespace", short: "n" },
  { name: "request-timeout", default: "0" },
  { name: "server", short: "s" },
  { name: "tls-server-name", note: "with it, requests to the API server go over HTTP/1.1 only" },
  { name: "token" },
  { name: "user" },
  // k8s.io/component-base v0.18.0 cli/globalflag (klog v1.0.0's flags, --help) and misc.go (--version)
  { name: "add-dir-header" },
  { name: "alsologtostderr" },
  { name: "help", short: "h" },
  { name: "log-backtrace-at", default: ":0" },
  { name: "log-dir" },
  { name: "log-file" },
  { name: "log-file-max-size", default: "1800" },
  { name: "log-flush-frequency", default: "5s" },
  { name: "logtostderr", default: "true" },
  { name: "skip-headers" },
  { name: "skip-log-headers" },
  { name: "stderrthreshold", default: "2" },
  { name: "v", short: "v" },
  { name: "version", note: "prints kube-oidc-gateway's version" },
  { name: "vmodule" },
];
