import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Counter, Histogram } from "../../src/observability/metrics.ts";

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
