// Every setting of `serve`. Names follow kube-apiserver (--oidc-*) and kube-oidc-proxy (serving
// flags) so their users' arguments keep working.
import type { FlagSpec } from "./flags.ts";

const oidc = "OIDC authentication (kube-apiserver's flags and rules)";
const serving = "Serving";
const upstream = "Upstream Kubernetes API server";
const operations = "Operations";
const sessions = "Browser sessions (login front for a dashboard and the API)";
const proxy = "Proxy (kube-oidc-proxy's flags)";
const audit = "Audit (kube-apiserver's flags)";
const client = "Upstream client flags (kubectl's, as kube-oidc-proxy registers them)";
const klog = "Logging (klog's flags, as kube-oidc-proxy registers them)";

// Why klog's output flags mean nothing here: the gateway writes its own lines to stderr, always.
const jsonLogs = "the gateway always writes its log lines to stderr (see --log-level and --log-format)";

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
    name: "api-port",
    type: "int",
    group: serving,
    default: 0,
    help:
      "a second HTTPS port (same --bind-address and certificate) that serves only the Kubernetes API, at /, to " +
      "bearer tokens: no login, no session cookie, no dashboard. With --dashboard-upstream, point the dashboard's " +
      "in-cluster client (KUBERNETES_SERVICE_HOST/PORT) here, so its API calls and the browser's dashboard paths " +
      "never share a path space; 0: off",
  },
  {
    name: "tls-cert-file",
    type: "string",
    group: serving,
    help:
      "serving certificate (PEM, chain allowed); reloaded when the file changes. Without it (and " +
      "--tls-private-key-file), --cert-dir must be set: a self-signed certificate is written there",
  },
  {
    name: "tls-private-key-file",
    type: "string",
    group: serving,
    help: "serving key (PEM); reloaded with the certificate; given with --tls-cert-file or not at all",
  },
  {
    name: "health-port",
    type: "int",
    group: serving,
    default: 8080,
    aliases: ["readiness-probe-port"],
    short: "P",
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
    help:
      "client addresses or CIDR ranges (e.g. 10.0.0.0/8 for an ingress controller's pods) whose X-Forwarded-For " +
      "is believed; others' is replaced",
  },
  {
    name: "cert-dir",
    type: "string",
    group: serving,
    help:
      "without --tls-cert-file: the directory where a self-signed serving certificate and key are written " +
      "(<dir>/kube-oidc-proxy.crt and .key, reused when both are there; kube-oidc-proxy's default /var/run/kubernetes)",
  },
  {
    name: "tls-min-version",
    type: "string",
    group: serving,
    help: "minimum TLS version, by Go's name: VersionTLS10, VersionTLS11, VersionTLS12 or VersionTLS13 (default VersionTLS12)",
  },
  {
    name: "tls-cipher-suites",
    type: "list",
    group: serving,
    help:
      "TLS 1.0–1.2 cipher suites offered, by Go's IANA names (e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256); " +
      "empty: Node's defaults. TLS 1.3's suites are not configurable (as in Go)",
  },
  {
    name: "tls-sni-cert-key",
    type: "list",
    noSplit: true,
    group: serving,
    help:
      "certFile,keyFile[:name1,name2] served to clients asking for those names by SNI (default: the names in the " +
      "certificate); repeatable, e.g. --tls-sni-cert-key=foo.crt,foo.key:*.foo.com,foo.com",
  },
  {
    name: "http2-max-streams-per-connection",
    type: "int",
    group: serving,
    default: 0,
    help: "concurrent HTTP/2 streams a client connection may open; 0: the gateway's default (100)",
  },
  {
    name: "permit-port-sharing",
    type: "bool",
    group: serving,
    default: false,
    ignored:
      "SO_REUSEPORT between processes: Node cannot set it on a listener; --workers shares the port between the gateway's processes instead",
    help: "kube-apiserver's SO_REUSEPORT option; accepted and ignored (see --workers)",
  },
  {
    name: "disable-impersonation",
    type: "bool",
    group: proxy,
    default: false,
    help:
      "forward each client's token to the API server as is, without Impersonate-* headers (the token is still " +
      "validated first); the API server must then accept the OIDC tokens itself. A client's own Impersonate-* " +
      "headers go with it, for the API server to authorize",
  },
  {
    name: "extra-user-header-client-ip",
    type: "bool",
    group: proxy,
    default: false,
    help: "add the client's IP address to every user as the extra remote-client-ip (Impersonate-Extra-Remote-Client-Ip)",
  },
  {
    name: "extra-user-headers",
    type: "list",
    group: proxy,
    help:
      "key=value extras added to every user (Impersonate-Extra-<key>), comma-separated or repeated; a key given " +
      "twice gets both values, e.g. --extra-user-headers=team=a,team=b",
  },
  {
    name: "flush-interval",
    type: "string",
    group: proxy,
    default: "50ms",
    help:
      "kube-oidc-proxy's (a Go duration); accepted and has no effect: the gateway writes each chunk to the " +
      "client as it arrives (Go's negative value, flush after each write), which meets any interval",
  },
  {
    name: "require-impersonation-rights",
    type: "bool",
    group: proxy,
    default: false,
    help:
      "refuse to start when the gateway's own credentials lack a kind of impersonation its configuration sends " +
      "(checked by SelfSubjectAccessReviews at start); without it the missing extras are left out and logged",
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
    help: "how long to wait for the API server's response headers, upgrades included (watches and followed logs are exempt)",
  },
  {
    name: "upstream-http2",
    type: "string",
    group: upstream,
    default: "watches",
    help:
      "which requests go to the API server as HTTP/2 streams over a few shared connections: watches (watches " +
      "and followed logs: each costs a stream instead of a connection; other requests use HTTP/1.1 keep-alive), " +
      "all (also every other request: about 12% less CPU per small request at 16 connections but slower at one, and " +
      "~100 MiB more peak RSS, since Node's HTTP/2 client makes V8 grow its young generation), or off. HTTP/1.1 whenever the server does not offer h2; exec, " +
      "attach and port-forward always get a connection of their own",
  },
  {
    name: "server",
    type: "string",
    short: "s",
    group: client,
    help: "the API server's https URL, replacing the kubeconfig cluster's server (or the in-cluster one)",
  },
  {
    name: "token",
    type: "string",
    group: client,
    help: "bearer token for the gateway's own requests, replacing the kubeconfig user's credentials",
  },
  {
    name: "certificate-authority",
    type: "string",
    group: client,
    help: "PEM bundle trusted for the API server, replacing the kubeconfig cluster's (see also --upstream-ca-file)",
  },
  {
    name: "client-certificate",
    type: "string",
    group: client,
    help: "client certificate for the gateway's own requests (with --client-key)",
  },
  { name: "client-key", type: "string", group: client, help: "key of --client-certificate" },
  { name: "context", type: "string", group: client, help: "the kubeconfig context to use instead of current-context" },
  { name: "cluster", type: "string", group: client, help: "the kubeconfig cluster to use instead of the context's" },
  { name: "user", type: "string", group: client, help: "the kubeconfig user to use instead of the context's" },
  {
    name: "tls-server-name",
    type: "string",
    group: client,
    help: "name the API server's certificate is checked against, instead of the URL's host",
  },
  {
    name: "request-timeout",
    type: "string",
    group: client,
    default: "0",
    help: "kubectl's: when not 0, replaces --upstream-timeout (a Go duration, or whole seconds)",
  },
  {
    name: "insecure-skip-tls-verify",
    type: "bool",
    group: client,
    default: false,
    help:
      "refused when true: the gateway sends its own credentials, which may impersonate anyone, and must " +
      "not send them to a server it has not verified (give --certificate-authority)",
  },
  {
    name: "namespace",
    type: "string",
    short: "n",
    group: client,
    ignored: "a proxy forwards each request to the namespace in its own path; kubectl's default namespace has no use",
    help: "kubectl's default namespace; accepted and ignored",
  },
  {
    name: "session-client-id",
    type: "string",
    group: sessions,
    help:
      "OAuth client id for browser logins; setting it turns browser sessions on (code flow with PKCE S256, " +
      "state and nonce, served under /oauth2/)",
  },
  {
    name: "session-client-secret-file",
    type: "string",
    group: sessions,
    help: "file holding that client's secret (none: a public client, PKCE only); never on the command line",
  },
  {
    name: "session-issuer-url",
    type: "string",
    group: sessions,
    help:
      "issuer the browser logs in at (default: --oidc-issuer-url, or the only issuer of " +
      "--authentication-config); its id tokens must be accepted by the authentication settings above",
  },
  {
    name: "session-issuer-ca-file",
    type: "string",
    group: sessions,
    help: "PEM bundle to trust for that issuer (default: --oidc-ca-file, or the issuer's certificateAuthority)",
  },
  {
    name: "session-external-url",
    type: "string",
    group: sessions,
    help:
      "the https URL browsers reach the gateway at, e.g. https://k8s.example.com (required with sessions); " +
      "the redirect URI to register at the issuer is <url>/oauth2/callback",
  },
  {
    name: "session-cookie-secret-file",
    type: "string",
    group: sessions,
    help:
      "file with the secret that seals cookies and stored sessions, at least 32 characters; several lines: the " +
      "first seals, all open (rotation); every replica needs the same file (required with sessions)",
  },
  {
    name: "session-cookie-name",
    type: "string",
    group: sessions,
    default: "__Host-kog-session",
    help: "name of the session cookie (Secure, HttpOnly, SameSite=Lax, Path=/; it holds only a sealed session id)",
  },
  {
    name: "session-scopes",
    type: "list",
    group: sessions,
    default: ["openid", "profile", "email"],
    help: "scopes requested at login; openid is always included",
  },
  {
    name: "session-store",
    type: "string",
    group: sessions,
    default: "memory",
    help: "where sessions live: memory (one replica) or redis (several replicas; see --session-redis-url)",
  },
  {
    name: "session-redis-url",
    type: "string",
    group: sessions,
    help: "redis:// or rediss:// URL of the shared session store (with --session-store=redis)",
  },
  // oauth2-proxy's names (--redis-sentinel-master-name, --redis-sentinel-connection-urls,
  // --redis-cluster-connection-urls, --redis-ca-path, --redis-username) under our
  // --session-redis- prefix, so its users recognise them; passwords come from files only.
  {
    name: "session-redis-sentinel-master-name",
    type: "string",
    group: sessions,
    help: "name of the master the sentinels watch (with --session-redis-sentinel-connection-urls)",
  },
  {
    name: "session-redis-sentinel-connection-urls",
    type: "list",
    group: sessions,
    help:
      "Redis Sentinel: sentinels as redis://host:port, rediss://host:port or host:port, comma-separated; the " +
      "store follows the master they name, through failovers (instead of --session-redis-url)",
  },
  {
    name: "session-redis-sentinel-username",
    type: "string",
    group: sessions,
    help: "ACL user of the sentinels themselves, when they require one (the data nodes use --session-redis-username)",
  },
  {
    name: "session-redis-sentinel-password-file",
    type: "string",
    group: sessions,
    help: "file holding the sentinels' own password (Sentinel's requirepass or its ACL user's)",
  },
  {
    name: "session-redis-cluster-connection-urls",
    type: "list",
    group: sessions,
    help:
      "Redis Cluster: some of its nodes as redis://host:port, rediss://host:port or host:port, comma-separated; " +
      "the others are discovered (instead of --session-redis-url)",
  },
  {
    name: "session-redis-ca-file",
    type: "string",
    group: sessions,
    help:
      "PEM CA bundle that signed the Redis servers' certificates (and the sentinels'); turns TLS on; the " +
      "certificate must name the host or IP connected to",
  },
  {
    name: "session-redis-username",
    type: "string",
    group: sessions,
    help: "ACL user of the Redis data nodes (docs/sessions.md lists the commands it needs)",
  },
  {
    name: "session-redis-password-file",
    type: "string",
    group: sessions,
    help: "file holding the Redis data nodes' password (instead of a password in --session-redis-url)",
  },
  {
    name: "session-refresh-ahead",
    type: "duration",
    group: sessions,
    default: "60s",
    help:
      "refresh a session's tokens this long before the id token's exp (at most a quarter of the token's " +
      "lifetime), one refresh per session across tabs and replicas",
  },
  {
    name: "session-max-lifetime",
    type: "duration",
    group: sessions,
    default: "12h",
    help: "longest a session lasts; it also ends when the issuer's refresh token or SSO session does",
  },
  {
    name: "session-api-prefix",
    type: "string",
    group: sessions,
    default: "/k8s",
    help:
      "with --dashboard-upstream: the path under which the Kubernetes API is served to the browser session " +
      "(the prefix is removed before forwarding); without a dashboard the API is served at /",
  },
  {
    name: "dashboard-upstream",
    type: "string",
    group: sessions,
    help:
      "http(s) URL of a dashboard (Headlamp, Kubeapps, any web app) to put behind the login; it receives " +
      "Authorization: Bearer <id token> and never the gateway's cookies",
  },
  {
    name: "dashboard-ca-file",
    type: "string",
    group: sessions,
    help: "PEM bundle to trust for an https dashboard upstream",
  },
  {
    name: "dashboard-token",
    type: "string",
    group: sessions,
    default: "id",
    help: "which token the dashboard receives as Bearer: id (what Headlamp and Kubeapps expect) or access",
  },
  {
    name: "whoami-page",
    type: "bool",
    group: sessions,
    default: false,
    help:
      "serve /oauth2/whoami: the session's decoded claims (never the raw token), the identity the API server " +
      "sees, time left, and what that identity may do",
  },
  {
    name: "session-post-logout-path",
    type: "string",
    group: sessions,
    default: "/",
    help: "where the issuer sends the browser back after logout (must be registered as a post-logout redirect URI)",
  },
  {
    name: "log-level",
    type: "string",
    group: operations,
    default: "info",
    help: "debug, info, warn or error; logs go to stderr and never contain tokens",
  },
  {
    name: "log-format",
    type: "string",
    group: operations,
    default: "json",
    help: "json (one JSON object a line, for collectors) or text (time, level, message and key=value fields, for people)",
  },
  {
    name: "access-log",
    type: "bool",
    group: operations,
    default: true,
    help:
      "one line at info per request answered (request id, user, verb, path without its query, status, upstream " +
      "status, latency, bytes); --access-log=false turns it off",
  },
  {
    name: "access-log-sample-rate",
    type: "string",
    group: operations,
    default: "1",
    help:
      "the share of successful requests (status below 400) the access log writes, from 0 to 1 (0.1: one in ten, " +
      "at random); refused and failed requests are always written",
  },
  {
    name: "audit-log-path",
    type: "string",
    group: audit,
    help:
      "as kube-apiserver's: file (or - for standard output) the audit events go to, one per line; " +
      "nothing is written without --audit-policy-file",
  },
  {
    name: "audit-log-maxsize",
    type: "int",
    group: audit,
    default: 100,
    help:
      "as kube-apiserver's: megabytes the --audit-log-path file may reach before it is rotated to " +
      "<name>-<UTC time><ext> beside it; 0 disables rotation (not recommended)",
  },
  {
    name: "audit-log-maxbackup",
    type: "int",
    group: audit,
    default: 100,
    help: "as kube-apiserver's: rotated audit log files kept, the oldest removed first; 0: no limit on their number",
  },
  {
    name: "audit-log-maxage",
    type: "int",
    group: audit,
    default: 366,
    help: "as kube-apiserver's: days a rotated audit log file is kept, by the time in its name; 0: no limit on their age",
  },
  {
    name: "audit-policy-file",
    type: "string",
    group: audit,
    help: "as kube-apiserver's: file with an audit.k8s.io/v1 Policy: which requests are recorded, at which level and stages",
  },
  {
    name: "audit-log-format",
    type: "string",
    group: audit,
    default: "json",
    help: "as kube-apiserver's: format of the audit log: json or legacy (one line of text per event)",
  },
  {
    name: "audit-log-version",
    type: "string",
    group: audit,
    default: "audit.k8s.io/v1",
    help: "as kube-apiserver's: API group and version of the events written to the audit log",
  },
  {
    name: "audit-log-mode",
    type: "string",
    group: audit,
    default: "blocking",
    help: "as kube-apiserver's: how events reach the log: blocking, blocking-strict or batch",
  },
  {
    name: "audit-log-batch-buffer-size",
    type: "int",
    group: audit,
    default: 10000,
    help: "as kube-apiserver's: batch mode: events buffered before batching",
  },
  {
    name: "audit-log-batch-max-size",
    type: "int",
    group: audit,
    default: 1,
    help: "as kube-apiserver's: batch mode: largest batch",
  },
  {
    name: "audit-log-batch-max-wait",
    type: "duration",
    group: audit,
    default: "0s",
    help: "as kube-apiserver's: batch mode: longest wait before a batch short of the maximum size is written",
  },
  {
    name: "audit-log-batch-throttle-enable",
    type: "bool",
    group: audit,
    default: false,
    help: "as kube-apiserver's: batch mode: whether batches are throttled",
  },
  {
    name: "audit-log-batch-throttle-qps",
    type: "string",
    group: audit,
    default: "0",
    help: "as kube-apiserver's: batch mode: batches per second on average (a decimal number)",
  },
  {
    name: "audit-log-batch-throttle-burst",
    type: "int",
    group: audit,
    default: 0,
    help: "as kube-apiserver's: batch mode: batches at once when the QPS was not used",
  },
  {
    name: "audit-log-truncate-enabled",
    type: "bool",
    group: audit,
    default: false,
    help: "as kube-apiserver's: whether events and batches are truncated",
  },
  {
    name: "audit-log-truncate-max-batch-size",
    type: "int",
    group: audit,
    default: 10485760,
    help: "as kube-apiserver's: largest batch in bytes",
  },
  {
    name: "audit-log-truncate-max-event-size",
    type: "int",
    group: audit,
    default: 102400,
    help: "as kube-apiserver's: largest event in bytes (request and response objects dropped first)",
  },
  {
    name: "audit-webhook-config-file",
    type: "string",
    group: audit,
    help: "as kube-apiserver's: kubeconfig-format file addressing the audit webhook",
  },
  {
    name: "audit-webhook-initial-backoff",
    type: "duration",
    group: audit,
    aliases: ["audit-webhook-batch-initial-backoff"],
    default: "10s",
    help: "as kube-apiserver's: wait before retrying a first failed webhook request",
  },
  {
    name: "audit-webhook-version",
    type: "string",
    group: audit,
    default: "audit.k8s.io/v1",
    help: "as kube-apiserver's: API group and version of the events sent to the webhook",
  },
  {
    name: "audit-webhook-mode",
    type: "string",
    group: audit,
    default: "batch",
    help: "as kube-apiserver's: how events reach the webhook: blocking, blocking-strict or batch",
  },
  {
    name: "audit-webhook-batch-buffer-size",
    type: "int",
    group: audit,
    default: 10000,
    help: "as kube-apiserver's: batch mode: events buffered before batching",
  },
  {
    name: "audit-webhook-batch-max-size",
    type: "int",
    group: audit,
    default: 400,
    help: "as kube-apiserver's: batch mode: largest batch",
  },
  {
    name: "audit-webhook-batch-max-wait",
    type: "duration",
    group: audit,
    default: "30s",
    help: "as kube-apiserver's: batch mode: longest wait before a batch short of the maximum size is sent",
  },
  {
    name: "audit-webhook-batch-throttle-enable",
    type: "bool",
    group: audit,
    default: true,
    help: "as kube-apiserver's: batch mode: whether batches are throttled",
  },
  {
    name: "audit-webhook-batch-throttle-qps",
    type: "string",
    group: audit,
    default: "10",
    help: "as kube-apiserver's: batch mode: batches per second on average (a decimal number)",
  },
  {
    name: "audit-webhook-batch-throttle-burst",
    type: "int",
    group: audit,
    default: 15,
    help: "as kube-apiserver's: batch mode: batches at once when the QPS was not used",
  },
  {
    name: "audit-webhook-truncate-enabled",
    type: "bool",
    group: audit,
    default: false,
    help: "as kube-apiserver's: whether events and batches are truncated",
  },
  {
    name: "audit-webhook-truncate-max-batch-size",
    type: "int",
    group: audit,
    default: 10485760,
    help: "as kube-apiserver's: largest batch in bytes",
  },
  {
    name: "audit-webhook-truncate-max-event-size",
    type: "int",
    group: audit,
    default: 102400,
    help: "as kube-apiserver's: largest event in bytes (request and response objects dropped first)",
  },
  {
    name: "audit-dynamic-configuration",
    type: "bool",
    group: audit,
    default: false,
    ignored: "AuditSink objects were an alpha API removed in Kubernetes 1.19; there is nothing to configure from",
    help: "kube-apiserver 1.18's dynamic audit configuration (alpha, removed); accepted and ignored",
  },
  {
    name: "shutdown-grace-period",
    type: "duration",
    group: operations,
    default: "30s",
    help: "on SIGTERM: how long in-flight requests may finish before streams are closed",
  },
  {
    name: "workers",
    type: "int",
    group: operations,
    default: 1,
    help:
      "processes serving the secure port, each on its own core (0: one per CPU available); the first " +
      "process supervises them and serves the health port with their combined readiness and metrics. " +
      "Browser sessions then need --session-store=redis",
  },
  {
    name: "v",
    type: "int",
    short: "v",
    group: klog,
    help:
      "klog's verbosity, mapped onto --log-level when that is not given: 0–2 info, 3 and more debug " +
      "(kube-oidc-proxy logs requests at 3 and more)",
  },
  {
    name: "version",
    type: "bool",
    group: operations,
    default: false,
    help: "print the version and exit",
  },
  {
    name: "vmodule",
    type: "string",
    group: klog,
    ignored: "per-file verbosity has no equivalent: one --log-level for the whole gateway",
    help: "klog's; accepted and ignored",
  },
  {
    name: "logtostderr",
    type: "bool",
    group: klog,
    ignored: jsonLogs,
    help: "klog's; accepted and ignored",
  },
  {
    name: "alsologtostderr",
    type: "bool",
    group: klog,
    ignored: jsonLogs,
    help: "klog's; accepted and ignored",
  },
  {
    name: "log-dir",
    type: "string",
    group: klog,
    aliases: ["log_dir"],
    ignored: jsonLogs,
    help: "klog's; accepted and ignored",
  },
  {
    name: "log-file",
    type: "string",
    group: klog,
    aliases: ["log_file"],
    ignored: jsonLogs,
    help: "klog's; accepted and ignored",
  },
  {
    name: "log-file-max-size",
    type: "int",
    group: klog,
    aliases: ["log_file_max_size"],
    ignored: jsonLogs,
    help: "klog's; accepted and ignored",
  },
  {
    name: "add-dir-header",
    type: "bool",
    group: klog,
    aliases: ["add_dir_header"],
    ignored: `klog's header: ${jsonLogs}`,
    help: "klog's; accepted and ignored",
  },
  {
    name: "skip-headers",
    type: "bool",
    group: klog,
    aliases: ["skip_headers"],
    ignored: `klog's header: ${jsonLogs}`,
    help: "klog's; accepted and ignored",
  },
  {
    name: "skip-log-headers",
    type: "bool",
    group: klog,
    aliases: ["skip_log_headers"],
    ignored: `klog's header: ${jsonLogs}`,
    help: "klog's; accepted and ignored",
  },
  {
    name: "stderrthreshold",
    type: "string",
    group: klog,
    ignored: jsonLogs,
    help: "klog's; accepted and ignored",
  },
  {
    name: "log-backtrace-at",
    type: "string",
    group: klog,
    aliases: ["log_backtrace_at"],
    ignored: "stack traces at a Go file:line have no equivalent",
    help: "klog's; accepted and ignored",
  },
  {
    name: "log-flush-frequency",
    type: "duration",
    group: klog,
    default: "5s",
    ignored: "the gateway writes each line at once, nothing is buffered",
    help: "klog's; accepted and ignored",
  },
];
