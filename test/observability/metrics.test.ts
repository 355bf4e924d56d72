import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Counter, createMetrics, Histogram, mergeExpositions } from "../../src/observability/metrics.ts";

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
