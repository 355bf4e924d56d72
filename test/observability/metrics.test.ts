import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  Counter,
  createMetrics,
  Histogram,
  LabelledGauge,
  maxHistogramSeries,
  maxSeriesPerMetric,
  mergeExpositions,
} from "../../src/observability/metrics.ts";

describe("metrics in the Prometheus text format", () => {
  it("writes label values as they are, and escapes backslash, newline and quote", () => {
    const counter = new Counter("c_total", "help text");
    counter.inc({ method: "GET", code: "200" });
    counter.inc({ method: "GET", code: "200" });
    counter.inc({ issuer: 'https://a\\b"c\nd' }, 3);
    assert.equal(
      counter.render(),
      [
        "# HELP c_total help text",
        "# TYPE c_total counter",
        'c_total{method="GET",code="200"} 2',
        'c_total{issuer="https://a\\\\b\\"c\\nd"} 3',
      ].join("\n"),
    );
    assert.equal(counter.get({ method: "GET", code: "200" }), 2);
  });

  it("writes a series without labels without braces", () => {
    const counter = new Counter("plain_total", "h");
    counter.inc();
    assert.match(counter.render(), /^plain_total 1$/m);
  });

  it("counts an observation in every bucket at or above it", () => {
    const histogram = new Histogram("d_seconds", "h", [0.1, 1]);
    histogram.observe({ method: "GET" }, 0.5);
    const lines = histogram.render().split("\n");
    assert.ok(lines.includes('d_seconds_bucket{method="GET",le="0.1"} 0'));
    assert.ok(lines.includes('d_seconds_bucket{method="GET",le="1"} 1'));
    assert.ok(lines.includes('d_seconds_bucket{method="GET",le="+Inf"} 1'));
    assert.ok(lines.includes('d_seconds_count{method="GET"} 1'));
  });
});

describe("metrics of several workers", () => {
  it("sum counters, gauges and histograms by series, and keep one HELP and TYPE", () => {
    const worker = (requests: number, watches: number) => {
      const metrics = createMetrics();
      for (let i = 0; i < requests; i++) metrics.requests.inc({ method: "GET", code: "200" });
      for (let i = 0; i < watches; i++) metrics.openWatches.inc();
      metrics.requestDuration.observe({ method: "GET" }, 0.002);
      return metrics.render();
    };
    const merged = mergeExpositions([worker(3, 1), worker(4, 2)]).split("\n");
    assert.ok(merged.includes('kube_oidc_gateway_http_requests_total{method="GET",code="200"} 7'));
    assert.ok(merged.includes("kube_oidc_gateway_open_watches 3"));
    assert.ok(merged.includes('kube_oidc_gateway_http_request_duration_seconds_count{method="GET"} 2'));
    assert.ok(merged.includes('kube_oidc_gateway_http_request_duration_seconds_bucket{method="GET",le="0.0025"} 2'));
    assert.equal(merged.filter((l) => l === "# TYPE kube_oidc_gateway_open_watches gauge").length, 1);
    assert.equal(merged.filter((l) => l.startsWith("# HELP kube_oidc_gateway_http_requests_total ")).length, 1);
  });

  it("take the highest value of a condition gauge: an issuer one worker cannot reach is unreachable", () => {
    const worker = (unreachable: number) => {
      const metrics = createMetrics();
      metrics.issuerKeysUnreachable.set({ issuer: "https://issuer.example" }, unreachable);
      return metrics.render();
    };
    const merged = mergeExpositions([worker(1), worker(1), worker(0)]);
    assert.match(merged, /^kube_oidc_gateway_issuer_keys_unreachable\{issuer="https:\/\/issuer.example"\} 1$/m);
  });
});

describe("bounded series", () => {
  it("counts methods outside the served set as other, and status codes outside 100-599 as other", () => {
    const metrics = createMetrics();
    for (const method of ["GET", "PROPFIND", "FOO", "get", "DELETE"]) metrics.requests.inc({ method, code: "200" });
    metrics.requests.inc({ method: "GET", code: "999" });
    metrics.requestDuration.observe({ method: "XYZ" }, 0.01);
    assert.equal(metrics.requests.get({ method: "other", code: "200" }), 3);
    assert.equal(metrics.requests.get({ method: "GET", code: "200" }), 1);
    assert.equal(metrics.requests.get({ method: "GET", code: "other" }), 1);
    assert.equal(metrics.requests.seriesCount, 4);
    assert.match(metrics.requestDuration.render(), /_count\{method="other"\} 1$/m);
  });

  it("folds label sets beyond a counter's cap into one overflow series", () => {
    const counter = new Counter("c_total", "h");
    for (let i = 0; i < maxSeriesPerMetric + 100; i++) counter.inc({ issuer: `https://${i}.example`, result: "x" });
    assert.equal(counter.seriesCount, maxSeriesPerMetric + 1);
    assert.equal(counter.get({ issuer: "overflow", result: "overflow" }), 100);
    // A series that exists before the cap keeps counting in its own.
    counter.inc({ issuer: "https://0.example", result: "x" });
    assert.equal(counter.get({ issuer: "https://0.example", result: "x" }), 2);
  });

  it("folds label sets beyond a histogram's cap into one overflow series", () => {
    const histogram = new Histogram("d_seconds", "h", [1]);
    for (let i = 0; i < maxHistogramSeries + 10; i++) histogram.observe({ method: `M${i}` }, 0.5);
    assert.equal(histogram.seriesCount, maxHistogramSeries + 1);
    assert.match(histogram.render(), /^d_seconds_count\{method="overflow"\} 10$/m);
  });

  it("keeps the highest value in a condition gauge's overflow series", () => {
    const gauge = new LabelledGauge("g", "h", { maxSeries: 1 });
    gauge.set({ issuer: "a" }, 0);
    gauge.set({ issuer: "b" }, 1);
    gauge.set({ issuer: "c" }, 0);
    assert.equal(gauge.get({ issuer: "overflow" }), 1);
  });
});
