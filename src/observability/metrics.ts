// The gateway's metrics, all defined here, exposed in the Prometheus text format
// (https://prometheus.io/docs/instrumenting/exposition_formats/) on the health port.
import { packageVersion } from "./build.ts";
import { RuntimeMetrics } from "./runtime-metrics.ts";

type Labels = Record<string, string>;

// Bounded series. A label value that comes from a client (the request method: HTTP/2 accepts
// any token as :method) or from another party (the API server's status code) must not mint a
// series per value: 2,000 unauthenticated requests with random methods made 38,000 series and a
// 78 MB /metrics. kube-apiserver does the same for its own request metrics: methods outside a
// fixed set are counted as "other" (k8s.io/apiserver@v0.37.2 pkg/endpoints/metrics/metrics.go,
// validRequestMethods and cleanVerb). And every labelled metric has a hard cap on its series,
// whatever its labels hold: beyond it new label sets are counted in one overflow series.

/** The value of a label outside its fixed set of values. */
export const otherLabelValue = "other";
/** Every label's value in the series that counts the label sets beyond a metric's cap. */
export const overflowLabelValue = "overflow";
/** Series a labelled counter or gauge keeps at most (then the overflow series). */
export const maxSeriesPerMetric = 500;
/** Series a histogram keeps at most: each is 18 lines, one per bucket and its sum and count. */
export const maxHistogramSeries = 50;

/**
 * The HTTP methods the method label names; any other is "other". The methods kube-apiserver
 * serves (k8s.io/apiserver@v0.37.2 pkg/endpoints/request/requestinfo.go maps these to verbs)
 * and OPTIONS, which it answers for CORS.
 */
export const methodLabelValues: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS",
]);
const methodLabel = (method: string) => (methodLabelValues.has(method) ? method : otherLabelValue);
/** A status code's label: three digits from 100 to 599, as HTTP defines them; else "other". */
const statusLabel = (code: string) => (/^[1-5]\d\d$/.test(code) ? code : otherLabelValue);

/** How a metric keeps its series bounded. */
export interface SeriesBounds {
  /** Labels whose values are mapped onto a fixed set before they form the series' key. */
  readonly labels?: Readonly<Record<string, (value: string) => string>>;
  /** The most series kept; label sets beyond it are counted in the overflow series. */
  readonly maxSeries?: number;
}

/** The labels with their bounded values (a copy only when a bounded label is present). */
function boundLabels(labels: Labels, bounds: SeriesBounds["labels"]): Labels {
  if (!bounds) return labels;
  let bounded: Labels | undefined;
  for (const name in bounds) {
    const value = labels[name];
    if (value === undefined) continue;
    const mapped = (bounds[name] as (value: string) => string)(value);
    if (mapped === value) continue;
    bounded ??= { ...labels };
    bounded[name] = mapped;
  }
  return bounded ?? labels;
}

const overflowLabels = (labels: Labels): Labels => {
  const overflow: Labels = {};
  for (const name in labels) overflow[name] = overflowLabelValue;
  return overflow;
};

/**
 * The key of the series `labels` count in: their own while the map holds fewer than `max`
 * series (or already holds theirs), else the overflow series of the same label names.
 */
function seriesKey(
  series: ReadonlyMap<string, unknown>,
  labels: Labels,
  bounds: SeriesBounds,
  max: number,
): { key: string; labels: Labels; overflow: boolean } {
  const bounded = boundLabels(labels, bounds.labels);
  const key = labelText(bounded);
  if (series.size < max || series.has(key)) return { key, labels: bounded, overflow: false };
  const overflow = overflowLabels(bounded);
  return { key: labelText(overflow), labels: overflow, overflow: true };
}

// Label text is built on every request (it is the series' key): the common case, a value with
// nothing to escape, takes one regex test and no copies.
const needsEscape = /[\\\n"]/;
const escapeLabel = (value: string) =>
  needsEscape.test(value) ? value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"') : value;
const labelText = (labels: Labels) => {
  let text = "";
  for (const name in labels) text += `${text === "" ? "{" : ","}${name}="${escapeLabel(labels[name] ?? "")}"`;
  return text === "" ? "" : `${text}}`;
};

abstract class Metric {
  readonly name: string;
  readonly help: string;
  abstract readonly type: string;
  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }
  abstract samples(): string[];
  render(): string {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`, ...this.samples()].join("\n");
  }
}

export class Counter extends Metric {
  readonly type = "counter";
  readonly #values = new Map<string, number>();
  readonly #bounds: SeriesBounds;
  readonly #max: number;
  constructor(name: string, help: string, bounds: SeriesBounds = {}) {
    super(name, help);
    this.#bounds = bounds;
    this.#max = bounds.maxSeries ?? maxSeriesPerMetric;
  }
  inc(labels: Labels = {}, by = 1): void {
    const { key } = seriesKey(this.#values, labels, this.#bounds, this.#max);
    this.#values.set(key, (this.#values.get(key) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.#values.get(labelText(boundLabels(labels, this.#bounds.labels))) ?? 0;
  }
  /** How many series there are (at most the cap, plus an overflow series). */
  get seriesCount(): number {
    return this.#values.size;
  }
  samples(): string[] {
    return [...this.#values].map(([labels, value]) => `${this.name}${labels} ${value}`);
  }
}

export class Gauge extends Metric {
  readonly type = "gauge";
  #value = 0;
  inc(): void {
    this.#value++;
  }
  dec(): void {
    this.#value--;
  }
  get value(): number {
    return this.#value;
  }
  samples(): string[] {
    return [`${this.name} ${this.#value}`];
  }
}

/** A gauge per label set, set to a value (e.g. 1 while a condition holds, else 0). */
export class LabelledGauge extends Metric {
  readonly type = "gauge";
  readonly #values = new Map<string, number>();
  readonly #bounds: SeriesBounds;
  readonly #max: number;
  constructor(name: string, help: string, bounds: SeriesBounds = {}) {
    super(name, help);
    this.#bounds = bounds;
    this.#max = bounds.maxSeries ?? maxSeriesPerMetric;
  }
  /** Beyond the cap, the overflow series holds the highest value set (the condition holds somewhere). */
  set(labels: Labels, value: number): void {
    const { key, overflow } = seriesKey(this.#values, labels, this.#bounds, this.#max);
    this.#values.set(key, overflow ? Math.max(this.#values.get(key) ?? value, value) : value);
  }
  get(labels: Labels): number | undefined {
    return this.#values.get(labelText(labels));
  }
  samples(): string[] {
    return [...this.#values].map(([labels, value]) => `${this.name}${labels} ${value}`);
  }
}

export class Histogram extends Metric {
  readonly type = "histogram";
  readonly #buckets: readonly number[];
  readonly #series = new Map<string, { counts: number[]; sum: number; count: number; labels: Labels }>();
  readonly #bounds: SeriesBounds;
  readonly #max: number;
  constructor(name: string, help: string, buckets: readonly number[], bounds: SeriesBounds = {}) {
    super(name, help);
    this.#buckets = buckets;
    this.#bounds = bounds;
    this.#max = bounds.maxSeries ?? maxHistogramSeries;
  }
  /** How many series there are (at most the cap, plus an overflow series). */
  get seriesCount(): number {
    return this.#series.size;
  }
  observe(labels: Labels, value: number): void {
    const { key, labels: kept } = seriesKey(this.#series, labels, this.#bounds, this.#max);
    let series = this.#series.get(key);
    if (!series) {
      series = { counts: this.#buckets.map(() => 0), sum: 0, count: 0, labels: kept };
      this.#series.set(key, series);
    }
    for (let i = 0; i < this.#buckets.length; i++)
      if (value <= (this.#buckets[i] ?? 0)) series.counts[i] = (series.counts[i] ?? 0) + 1;
    series.sum += value;
    series.count++;
  }
  samples(): string[] {
    const lines: string[] = [];
    for (const series of this.#series.values()) {
      this.#buckets.forEach((bound, i) => {
        lines.push(`${this.name}_bucket${labelText({ ...series.labels, le: String(bound) })} ${series.counts[i]}`);
      });
      lines.push(`${this.name}_bucket${labelText({ ...series.labels, le: "+Inf" })} ${series.count}`);
      lines.push(`${this.name}_sum${labelText(series.labels)} ${series.sum}`);
      lines.push(`${this.name}_count${labelText(series.labels)} ${series.count}`);
    }
    return lines;
  }
}

export interface MetricsOptions {
  /**
   * The process's and Node's own metrics (runtime-metrics.ts), with the `worker` label of
   * `serve --workers` when given; absent: none (a metrics object made to read names only).
   */
  readonly runtime?: { readonly worker?: number };
}

export function createMetrics(options: MetricsOptions = {}) {
  const buildInfo = new LabelledGauge(
    "kube_oidc_gateway_build_info",
    "1, labelled with the gateway's version and the Node.js version it runs on.",
  );
  buildInfo.set({ version: packageVersion(), node_version: process.version }, 1);
  const metrics = {
    buildInfo,
    requests: new Counter(
      "kube_oidc_gateway_http_requests_total",
      "Requests answered, by method and HTTP status code.",
      { labels: { method: methodLabel, code: statusLabel } },
    ),
    requestDuration: new Histogram(
      "kube_oidc_gateway_http_request_duration_seconds",
      "Time to the response headers, by method (watches count until they start; upgrades are not timed).",
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      { labels: { method: methodLabel } },
    ),
    authentications: new Counter(
      "kube_oidc_gateway_authentications_total",
      "Token authentications by result (success, cached, failure) and failure reason.",
    ),
    jwksFetches: new Counter(
      "kube_oidc_gateway_jwks_fetches_total",
      "Fetches of an issuer's JWKS, by issuer and result.",
    ),
    discoveries: new Counter("kube_oidc_gateway_discovery_total", "OIDC discovery attempts, by issuer and result."),
    issuerKeysUnreachable: new LabelledGauge(
      "kube_oidc_gateway_issuer_keys_unreachable",
      "1 while fetching the issuer's JWKS fails (its cached keys keep serving), else 0.",
    ),
    upstreamErrors: new Counter(
      "kube_oidc_gateway_upstream_errors_total",
      "Requests the API server could not answer, by kind (unavailable, timeout, reset).",
    ),
    openWatches: new Gauge("kube_oidc_gateway_open_watches", "Watch and follow streams open now."),
    upstreamHttp2Connections: new Gauge(
      "kube_oidc_gateway_upstream_http2_connections",
      "HTTP/2 connections to the API server open now; each carries many requests and watches (0 over HTTP/1.1).",
    ),
    openUpgrades: new Gauge(
      "kube_oidc_gateway_open_upgrades",
      "Upgraded connections (exec, attach, port-forward) open now.",
    ),
    tlsReloads: new Counter("kube_oidc_gateway_tls_reloads_total", "Serving certificate reloads, by result."),
    authenticationConfigReloads: new Counter(
      "kube_oidc_gateway_authentication_config_reloads_total",
      "Reloads of --authentication-config after it changed, by result (failure: the previous configuration keeps serving).",
    ),
    sessionLogins: new Counter(
      "kube_oidc_gateway_session_logins_total",
      "Browser logins completed at the callback, by result (success, or the error code).",
    ),
    sessionRefreshes: new Counter(
      "kube_oidc_gateway_session_refreshes_total",
      "Session token refreshes, by outcome: success (one call to the issuer), shared (another tab or replica had just refreshed), rejected (invalid_grant: session ended), unavailable.",
    ),
    sessionLogouts: new Counter(
      "kube_oidc_gateway_session_logouts_total",
      "Sessions ended, by kind: local (logout here) or backchannel (the issuer's logout token).",
    ),
    sessionSocketsClosed: new Counter(
      "kube_oidc_gateway_session_sockets_closed_total",
      "WebSockets and streams the gateway closed because their browser session ended.",
    ),
  };
  const runtime = options.runtime ? new RuntimeMetrics(options.runtime.worker) : undefined;
  return {
    ...metrics,
    render: () =>
      `${[...Object.values(metrics).map((m) => m.render()), ...(runtime ? [runtime.render()] : [])].join("\n")}\n`,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Gauges that state a condition (1 or 0) rather than count something: merged by maximum. */
let conditionGauges: Set<string> | undefined;

/**
 * One exposition from several processes' (the workers of `serve --workers`): counters, gauges
 * and histogram series of the same name and labels are summed, condition gauges take the
 * maximum (an issuer one worker cannot reach is unreachable; build_info is 1), HELP and TYPE
 * appear once. The process_* and nodejs_* series carry each process's `worker` label, so they are
 * never added together here.
 */
export function mergeExpositions(texts: readonly string[]): string {
  conditionGauges ??= new Set(
    Object.values(createMetrics())
      .filter((m): m is LabelledGauge => m instanceof LabelledGauge)
      .map((m) => m.name),
  );
  const families = new Map<string, { header: string[]; samples: Map<string, number> }>();
  for (const text of texts) {
    let family: { header: string[]; samples: Map<string, number> } | undefined;
    let familyName = "";
    for (const line of text.split("\n")) {
      if (line === "") continue;
      if (line.startsWith("# ")) {
        const [, kind, name = ""] = line.split(" ", 3);
        familyName = name;
        family = families.get(name);
        if (!family) {
          family = { header: [], samples: new Map() };
          families.set(name, family);
        }
        if (kind === "HELP" || kind === "TYPE") {
          if (family.header.length < 2 && !family.header.some((h) => h.startsWith(`# ${kind} `)))
            family.header.push(line);
        }
        continue;
      }
      const space = line.lastIndexOf(" ");
      const series = line.slice(0, space);
      const value = Number(line.slice(space + 1));
      if (!family) continue;
      const previous = family.samples.get(series);
      const merged =
        previous === undefined ? value : conditionGauges.has(familyName) ? Math.max(previous, value) : previous + value;
      family.samples.set(series, merged);
    }
  }
  const lines: string[] = [];
  for (const { header, samples } of families.values()) {
    lines.push(...header);
    for (const [series, value] of samples) lines.push(`${series} ${value}`);
  }
  return `${lines.join("\n")}\n`;
}
