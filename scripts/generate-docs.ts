// Writes the docs generated from code, so they cannot drift from it: the configuration reference
// (docs/configuration.md, from the flag tables that also parse the flags and print --help) and
// the metrics reference (docs/metrics.md, from the metric definitions). `npm test` checks the
// committed files are current (test/scripts/generate-docs.test.ts); `npm run docs` rewrites them.
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as doctorCommand from "../src/cli/commands/doctor.ts";
import { lintFlags } from "../src/cli/commands/lint.ts";
import * as tokenCommand from "../src/cli/commands/token.ts";
import { envName, type FlagSpec, type FlagType } from "../src/config/flags.ts";
import { kubeOidcProxyFlags } from "../src/config/kube-oidc-proxy-flags.ts";
import { serveFlags } from "../src/config/serve-flags.ts";
import {
  createMetrics,
  type Metrics,
  maxHistogramSeries,
  maxSeriesPerMetric,
  methodLabelValues,
  otherLabelValue,
  overflowLabelValue,
} from "../src/observability/metrics.ts";
import { gcBuckets, RuntimeMetrics } from "../src/observability/runtime-metrics.ts";

const root = join(import.meta.dirname, "..");
const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");
const code = (text: string) => `\`${text}\``;

// ---------------------------------------------------------------------------------------------
// docs/configuration.md

/** How each value type is written on the command line, in the environment and in the file. */
const typeNotes: Record<FlagType, string> = {
  string: "text",
  bool: "`true` or `false` (also `1`/`0`, `t`/`f`, as Go's `strconv.ParseBool`); the bare flag means `true`",
  int: "a whole number",
  duration: "a Go duration: `500ms`, `10s`, `1m30s`, `12h`; `0` is zero",
  list: "comma-separated, or the flag repeated; a YAML list in the file",
  map: "`key=value`, comma-separated or the flag repeated; a YAML mapping in the file",
};

function defaultOf(value: FlagSpec["default"]): string {
  if (value === undefined || value === "" || (Array.isArray(value) && value.length === 0)) return "";
  return code(Array.isArray(value) ? value.join(",") : String(value));
}

const flagCell = (f: FlagSpec) =>
  `${code(`--${f.name}`)}${f.aliases?.length ? ` (also ${f.aliases.map((a) => code(`--${a}`)).join(", ")})` : ""}`;

function grouped(specs: readonly FlagSpec[], table: (specs: readonly FlagSpec[]) => string, level = "###"): string {
  const groups = [...new Set(specs.map((f) => f.group))];
  return groups.map((group) => `${level} ${group}\n\n${table(specs.filter((f) => f.group === group))}`).join("\n\n");
}

/**
 * Settings the chart (charts/kube-oidc-gateway) writes itself from other values, refusing them
 * under `config:`; every other setting is `config.<flag name>`. Keep in step with the chart's
 * values.yaml.
 */
export const chartManaged: Readonly<Record<string, string>> = {
  config: "— (the chart writes the file)",
  "secure-port": "`ports.https`",
  "health-port": "`ports.health`",
  "api-port": "`ports.api` (on with `apiListener.enabled`)",
  kubeconfig: "— (in-cluster: the chart's ServiceAccount)",
  "tls-cert-file": "`tls.secretName` or `certificate.*`",
  "tls-private-key-file": "`tls.secretName` or `certificate.*`",
  "oidc-ca-file": "`issuerCA.*`",
  "authentication-config": "`authenticationConfiguration`",
  "session-client-secret-file": "`session.clientSecret.*`",
  "session-cookie-secret-file": "`session.cookieSecret.*`",
};

/** serve: flag, environment variable, --config key, Helm value, type, default, meaning. */
function serveTable(specs: readonly FlagSpec[]): string {
  const rows = specs.map((f) => {
    // --config names the file itself: it is not a key of that file.
    const fileKey = f.name === "config" ? "—" : code(f.name);
    const helm = chartManaged[f.name] ?? code(`config.${f.name}`);
    return `| ${flagCell(f)} | ${code(envName(f.name))} | ${fileKey} | ${helm} | ${f.type} | ${defaultOf(f.default)} | ${cell(f.help)} |`;
  });
  return [
    "| flag | environment | `--config` key | Helm value | type | default | meaning |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

/** token, doctor, lint: flag, environment variable, type, default, meaning. */
function commandTable(specs: readonly FlagSpec[]): string {
  const rows = specs.map(
    (f) => `| ${flagCell(f)} | ${code(envName(f.name))} | ${f.type} | ${defaultOf(f.default)} | ${cell(f.help)} |`,
  );
  return ["| flag | environment | type | default | meaning |", "| --- | --- | --- | --- | --- |", ...rows].join("\n");
}

/**
 * A command module's flag table, when the module exports it. `lintFlags` is exported; the token
 * and doctor tables are module constants today, so their sections say where to look until they
 * are exported as `tokenFlags` and `doctorFlags` (then `npm run docs` picks them up).
 */
function exportedFlags(module: object, name: string): readonly FlagSpec[] | undefined {
  const value = (module as Record<string, unknown>)[name];
  return Array.isArray(value) ? (value as readonly FlagSpec[]) : undefined;
}

function otherCommand(command: string, page: string, specs: readonly FlagSpec[] | undefined): string {
  const intro = `Flags win over the environment. \`${command}\` reads no \`--config\` file and has no chart values.`;
  if (!specs) {
    return `${intro} Its flag list is not generated here yet: run \`kube-oidc-gateway ${command} --help\`, and see [${page}](${page}).`;
  }
  return `${intro} More in [${page}](${page}).\n\n${grouped(specs, commandTable, "###")}`;
}

export function configurationReference(): string {
  const tokenFlags = exportedFlags(tokenCommand, "tokenFlags");
  const doctorFlags = exportedFlags(doctorCommand, "doctorFlags");
  return `<!-- Generated by scripts/generate-docs.ts from src/config/serve-flags.ts and the commands' flag tables; do not edit: run npm run docs. -->
# Configuration reference

Every setting of \`kube-oidc-gateway serve\`, and the flags of \`token\`, \`doctor\` and \`lint\`. This
page is generated from the same tables that parse the flags and print \`--help\`, and a test fails
when it is out of date.

## How \`serve\` is configured

Each setting can be given four ways. They are merged per setting: **flag, then environment
variable, then the \`--config\` file, then the default**.

| where | how | example |
| --- | --- | --- |
| flag | \`--name=value\` or \`--name value\`, kube-apiserver style | \`--oidc-username-prefix=oidc:\` |
| environment | \`KOG_\` and the flag name in upper snake case | \`KOG_OIDC_USERNAME_PREFIX=oidc:\` |
| \`--config\` file | YAML or JSON; keys are the flag names (aliases too) | \`oidc-username-prefix: "oidc:"\` |
| Helm chart | \`config.<flag name>\` in the values; the chart passes them on ([Helm](helm.md)) | \`--set config.oidc-username-prefix=oidc:\` |

An unknown flag or file key, or a bad value, stops \`serve\` before it listens,
with exit code 2 and the setting named (\`unknown flag: --flush-interval\`; a file key gets the
closest setting, as flags do). An unknown \`KOG_*\` variable is ignored with a warning at start
that names the closest variable (\`test/server/serve-config-errors.test.ts\`). Secrets are never values: the client secret and the cookie secret are
read from files (\`--session-client-secret-file\`, \`--session-cookie-secret-file\`).

\`\`\`yaml
# gateway.yaml, passed as --config=gateway.yaml
oidc-issuer-url: https://keycloak.example.com/realms/kube
oidc-client-id: kubernetes
oidc-username-claim: preferred_username
oidc-username-prefix: "oidc:"          # quote values that end in a colon
oidc-groups-claim: groups
oidc-groups-prefix: "oidc:"
oidc-required-claim: {hd: example.com} # a map
oidc-signing-algs: [RS256, ES256]      # a list
secure-port: 8443
tls-cert-file: /tls/tls.crt
tls-private-key-file: /tls/tls.key
\`\`\`

Value types:

| type | written as |
| --- | --- |
${(Object.keys(typeNotes) as FlagType[]).map((t) => `| ${t} | ${typeNotes[t]} |`).join("\n")}

## \`serve\`

${grouped(serveFlags, serveTable)}

## \`token\`

${otherCommand("token", "token.md", tokenFlags)}

## \`doctor\`

${otherCommand("doctor", "doctor/README.md", doctorFlags)}

## \`lint\`

${otherCommand("lint", "lint/README.md", lintFlags)}
`;
}

// ---------------------------------------------------------------------------------------------
// docs/metrics.md

type MetricKey = Exclude<keyof Metrics, "render">;

interface LabelDoc {
  readonly name: string;
  readonly values: string;
}

/** The failure reasons of token authentication, read from the union type that defines them. */
function authenticationFailureCodes(): string[] {
  const text = readFileSync(join(root, "src", "authn", "errors.ts"), "utf8");
  const union = /export type AuthenticationFailure =([^;]+);/.exec(text)?.[1];
  if (!union) throw new Error("src/authn/errors.ts: AuthenticationFailure not found");
  return [...union.matchAll(/"([A-Z_]+)"/g)].map((m) => m[1] ?? "");
}

const methodValues = `${[...methodLabelValues].map((m) => `\`${m}\``).join(", ")}, or \`${otherLabelValue}\` for any other method a client sends (as kube-apiserver's own request metrics fold them)`;

/**
 * What the labels of each metric hold, and where the metric is counted. Keyed by the metric's
 * property in createMetrics(), so a new metric without an entry here fails the type check.
 */
const metricDocs: Record<MetricKey, { readonly labels: readonly LabelDoc[]; readonly note: string }> = {
  buildInfo: {
    labels: [
      { name: "version", values: "the package's version (package.json)" },
      { name: "node_version", values: "the Node.js version the process runs on (`process.version`)" },
    ],
    note: "Always 1: join on it to label other series with the version (`* on (instance) group_left (version) kube_oidc_gateway_build_info`). With `--workers`, one series for all processes.",
  },
  requests: {
    labels: [
      { name: "method", values: methodValues },
      {
        name: "code",
        values:
          "the status answered: the API server's, or the gateway's own refusal (401, 403, 503, 504…); `101` for an upgrade that switched; `other` for a number outside 100–599",
      },
    ],
    note: "Kubernetes API requests through the gateway, bearer-token and browser-session alike. Requests to the dashboard and to `/oauth2/*` are not counted.",
  },
  requestDuration: {
    labels: [{ name: "method", values: methodValues }],
    note: "Same requests as `kube_oidc_gateway_http_requests_total`, for the requests that got a response (not upgrades).",
  },
  authentications: {
    labels: [
      {
        name: "result",
        values:
          "`success` (validated now), `cached` (identity reused, see `--token-cache-ttl`), `passthrough` (a TokenReview accepted a token no issuer claims), `failure`",
      },
      {
        name: "reason",
        values: `empty unless \`result="failure"\`; then one of ${authenticationFailureCodes().map(code).join(", ")}`,
      },
    ],
    note: "One per API request that carried a token (or a session). The client only ever sees kube-apiserver's plain 401; the reason is here and in the log.",
  },
  jwksFetches: {
    labels: [
      { name: "issuer", values: "the issuer URL" },
      { name: "result", values: "`success`, `failure`" },
    ],
    note: "Fetches of an issuer's signing keys: at start, and when a token names an unknown `kid` (at most once every 5 s).",
  },
  discoveries: {
    labels: [
      { name: "issuer", values: "the issuer URL" },
      { name: "result", values: "`success`, `failure`" },
    ],
    note: "Discovery is retried every 10 s until it succeeds; `/readyz` answers 503 until then.",
  },
  issuerKeysUnreachable: {
    labels: [{ name: "issuer", values: "the issuer URL" }],
    note: "1 while the issuer's JWKS cannot be fetched: cached keys keep verifying tokens, `/readyz` stays 200 but says `degraded`, and the fetch is retried every 10 s. Alert on it: a key rotation during the outage would refuse new tokens.",
  },
  upstreamErrors: {
    labels: [
      {
        name: "kind",
        values:
          "`timeout` (no response headers within `--upstream-timeout`: 504), `unavailable` (no connection could be made: refused, unreachable, a host that does not resolve, or no TLS handshake within 10 s: 503), `reset` (an exchange that had started broke: a connection or HTTP/2 stream reset: 502)",
      },
    ],
    note: "Requests the API server could not answer.",
  },
  openWatches: {
    labels: [],
    note: "Long-running responses open now: watches and `follow` log streams.",
  },
  upstreamHttp2Connections: {
    labels: [],
    note: "With `--upstream-http2=watches` (the default) watches, with `all` every request, go to the API server as HTTP/2 streams over a few shared connections: a new one opens when the others carry as many streams as the API server allows each (its `--http2-max-streams-per-connection`), one without streams closes after 90 s, and one whose pings go unanswered for 15 s is closed with its streams. 0 when the API server offers only HTTP/1.1.",
  },
  openUpgrades: {
    labels: [],
    note: "Upgraded connections open now: `exec`, `attach`, `port-forward` over SPDY or WebSocket.",
  },
  tlsReloads: {
    labels: [{ name: "result", values: "`success`, `failure` (the previous certificate keeps serving)" }],
    note: "The serving certificate and key are re-read when their files change.",
  },
  authenticationConfigReloads: {
    labels: [{ name: "result", values: "`success`, `failure`" }],
    note: "With `--authentication-config`: a failure means an edit was refused and the previous configuration keeps serving. Alert on it.",
  },
  sessionLogins: {
    labels: [
      {
        name: "result",
        values:
          "`success`, or why the callback failed: `ISSUER_ERROR` (the issuer returned an error), `LOGIN_STATE` (state cookie missing, expired or reused), `LOGIN_FAILED` (code exchange or id token check failed), `IDENTITY_REFUSED` (the id token is not accepted by the gateway's authentication settings)",
      },
    ],
    note: "Browser sessions only.",
  },
  sessionRefreshes: {
    labels: [
      {
        name: "outcome",
        values:
          "`success` (one call to the issuer), `shared` (another tab or replica had just refreshed), `rejected` (`invalid_grant`: the session ended), `unavailable` (issuer unreachable or erring)",
      },
    ],
    note: "Browser sessions only. `rejected` ends the session: the issuer's SSO session ended or the refresh token was revoked.",
  },
  sessionLogouts: {
    labels: [{ name: "kind", values: "`local` (`/oauth2/sign_out`), `backchannel` (the issuer's logout token)" }],
    note: "Browser sessions only. A back-channel logout counts every session it ended.",
  },
  sessionSocketsClosed: {
    labels: [],
    note: "Browser sessions only: watches and WebSockets closed because their session ended.",
  },
};

/** The histogram's bucket bounds, read from what it renders after one observation. */
function bucketsOf(key: MetricKey): string[] {
  const fresh = createMetrics();
  const metric = fresh[key];
  if (metric.type !== "histogram" || !("observe" in metric)) return [];
  metric.observe({}, 0);
  return [...metric.render().matchAll(/le="([^"]+)"/g)].map((m) => m[1] ?? "").filter((le) => le !== "+Inf");
}

/** The runtime metrics' names, types and help, read from what they render. */
function runtimeMetricRows(): string {
  const runtime = new RuntimeMetrics();
  const text = runtime.render();
  runtime.close();
  const rows: string[] = [];
  for (const match of text.matchAll(/^# HELP (\S+) (.*)\n# TYPE \S+ (\S+)$/gm)) {
    rows.push(`| ${code(match[1] ?? "")} | ${match[3]} | ${cell(match[2] ?? "")} |`);
  }
  return rows.join("\n");
}

export function metricsReference(): string {
  const metrics = createMetrics();
  const keys = Object.keys(metrics).filter((k) => k !== "render") as MetricKey[];
  const missing = keys.filter((k) => !(k in metricDocs));
  if (missing.length > 0) throw new Error(`scripts/generate-docs.ts: no metricDocs entry for ${missing.join(", ")}`);
  const section = (key: MetricKey) => {
    const metric = metrics[key];
    const doc = metricDocs[key];
    const buckets = bucketsOf(key);
    const labels =
      doc.labels.length === 0
        ? "Labels: none."
        : `| label | values |\n| --- | --- |\n${doc.labels.map((l) => `| ${code(l.name)} | ${cell(l.values)} |`).join("\n")}`;
    return `### \`${metric.name}\`

${metric.type[0]?.toUpperCase()}${metric.type.slice(1)}. ${metric.help}${buckets.length > 0 ? ` Buckets (seconds): ${buckets.join(", ")}; also \`_sum\` and \`_count\`.` : ""}

${doc.note}

${labels}`;
  };
  const core = keys.filter((k) => !k.startsWith("session"));
  const session = keys.filter((k) => k.startsWith("session"));
  return `<!-- Generated by scripts/generate-docs.ts from src/observability/metrics.ts; do not edit: run npm run docs. -->
# Metrics

\`serve\` exposes Prometheus metrics in the text format on the health port:
\`http://<pod>:8080/metrics\` (\`--health-port\`, plain HTTP, no token; \`0\` turns the port off, and
with it the metrics). Counters start at zero when the process starts and are per replica: sum
them across pods. A series appears once it has been counted. No label holds what a client chose
(methods outside a fixed list count as \`other\`), and each labelled metric keeps at most
\`${maxSeriesPerMetric}\` series (histograms \`${maxHistogramSeries}\`): label sets beyond that are counted in
one series whose labels all read \`${overflowLabelValue}\`.

\`\`\`yaml
# A Prometheus scrape job for the gateway's pods (or use a PodMonitor / ServiceMonitor on the
# health port: the chart's values are in docs/helm.md).
- job_name: kube-oidc-gateway
  kubernetes_sd_configs: [{role: pod}]
  relabel_configs:
  - {source_labels: [__meta_kubernetes_pod_label_app_kubernetes_io_name], regex: kube-oidc-gateway, action: keep}
  - {source_labels: [__meta_kubernetes_pod_container_port_number], regex: "8080", action: keep}
\`\`\`

Queries worth a dashboard panel or an alert:

| question | query |
| --- | --- |
| why are tokens refused? | \`sum by (reason) (rate(kube_oidc_gateway_authentications_total{result="failure"}[5m]))\` |
| is the API server reachable? | \`sum by (kind) (rate(kube_oidc_gateway_upstream_errors_total[5m]))\` |
| is an issuer unreachable? | \`increase(kube_oidc_gateway_discovery_total{result="failure"}[15m]) > 0\` or \`…jwks_fetches_total{result="failure"}\` |
| was a config edit refused? | \`increase(kube_oidc_gateway_authentication_config_reloads_total{result="failure"}[1h]) > 0\` |
| are sessions being lost? | \`rate(kube_oidc_gateway_session_refreshes_total{outcome=~"rejected\\|unavailable"}[5m])\` |
| p99 latency to response headers | \`histogram_quantile(0.99, sum by (le) (rate(kube_oidc_gateway_http_request_duration_seconds_bucket[5m])))\` |

Readiness is not a metric: \`/readyz\` on the same port answers 503 with the reasons (an issuer
not yet discovered, the login issuer or Redis not reachable, shutting down).

## The gateway

${core.map(section).join("\n\n")}

## Browser sessions

Present with \`--session-client-id\`.

${session.map(section).join("\n\n")}

## The process and Node.js

Named as the Prometheus client for Node names them (prom-client's default metrics), so
dashboards made for Node services read them. Read when scraped; the event-loop delay statistics
cover the time since the previous scrape. With \`serve --workers\`, each process's series carry a
\`worker\` label (\`0\` the supervising primary, \`1\`…\`N\` the workers) and are never added
together: \`sum without (worker) (process_resident_memory_bytes)\` is the pod's memory,
\`max without (worker) (nodejs_eventloop_lag_p99_seconds)\` its slowest loop. Without
\`--workers\` they have no label. \`process_open_fds\` and \`process_max_fds\` are read from
\`/proc\` and are absent where there is none. \`nodejs_gc_duration_seconds\` has prom-client's buckets
(${gcBuckets.join(", ")} seconds) and a \`kind\` label (\`major\`, \`minor\`, \`incremental\`, \`weakcb\`). The
values are checked against \`/proc/<pid>\` of a real \`serve\` in
\`test/observability/serve-observability.test.ts\`, and the \`worker\` labels and the single build_info series
of \`serve --workers=2\` in \`test/server/workers.test.ts\`.

| metric | type | help |
| --- | --- | --- |
${runtimeMetricRows()}
`;
}

// ---------------------------------------------------------------------------------------------
// docs/migrating-from-kube-oidc-proxy.md: the flag-by-flag table between two markers; the prose
// around it is written by hand.

const migrationPath = join(root, "docs", "migrating-from-kube-oidc-proxy.md");
const tableStart =
  "<!-- The flag table is generated by scripts/generate-docs.ts from src/config/kube-oidc-proxy-flags.ts and serve's flag table; do not edit it: run npm run docs. -->";
const tableEnd = "<!-- End of the generated flag table. -->";

/** What the gateway does with one kube-oidc-proxy flag. */
function migrationRow(flag: (typeof kubeOidcProxyFlags)[number]): string {
  const name = `${flag.short ? `${code(`-${flag.short}`)}, ` : ""}${code(`--${flag.name}`)}`;
  const theirs = flag.default === undefined ? "" : code(flag.default);
  const spec = serveFlags.find((f) => f.name === flag.name || f.aliases?.includes(flag.name));
  let gateway: string;
  let meaning: string;
  if (flag.name === "help") {
    gateway = "same";
    meaning = "serve's flags";
  } else if (!spec) {
    throw new Error(`kube-oidc-proxy's --${flag.name} is not in serve's flag table`);
  } else {
    const ours = spec.name === flag.name ? "same" : `as ${code(`--${spec.name}`)}`;
    const ourDefault = defaultOf(spec.default);
    if (spec.ignored) {
      gateway = "accepted, ignored";
      meaning = `a start-up line says so: ${spec.ignored}`;
    } else {
      gateway = ours;
      meaning = `${spec.help}${ourDefault && ourDefault !== (theirs || (spec.type === "bool" ? "`false`" : "`0`")) ? ` (gateway default ${ourDefault})` : ""}`;
    }
  }
  return `| ${name} | ${theirs} | ${gateway} | ${cell(meaning)}${flag.note ? `. **${cell(flag.note)}**` : ""} |`;
}

export function migrationFlagTable(): string {
  return [
    tableStart,
    "",
    "| kube-oidc-proxy v0.3.0 flag | its default | kube-oidc-gateway | what the gateway does |",
    "| --- | --- | --- | --- |",
    ...kubeOidcProxyFlags.map(migrationRow),
    "",
    tableEnd,
  ].join("\n");
}

export function migrationGuide(): string {
  const text = readFileSync(migrationPath, "utf8");
  const start = text.indexOf(tableStart);
  const end = text.indexOf(tableEnd);
  if (start === -1 || end === -1) throw new Error(`${migrationPath}: the generated table's markers are missing`);
  return `${text.slice(0, start)}${migrationFlagTable()}${text.slice(end + tableEnd.length)}`;
}

// ---------------------------------------------------------------------------------------------

export interface GeneratedDoc {
  readonly path: string;
  readonly render: () => string;
}

export const generatedDocs: readonly GeneratedDoc[] = [
  { path: join(root, "docs", "configuration.md"), render: configurationReference },
  { path: join(root, "docs", "metrics.md"), render: metricsReference },
  { path: migrationPath, render: migrationGuide },
];

if (import.meta.main) {
  for (const doc of generatedDocs) {
    await writeFile(doc.path, doc.render());
    process.stdout.write(`wrote ${doc.path}\n`);
  }
}
