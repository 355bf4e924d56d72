import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatDuration, formatRelative } from "../../src/token/relative-time.ts";

describe("relative times", () => {
  it("uses the two largest units", () => {
    assert.equal(formatDuration(45_000), "45s");
    assert.equal(formatDuration(192_000), "3m12s");
    assert.equal(formatDuration(3_600_000), "1h");
    assert.equal(formatDuration(2 * 3_600_000 + 5 * 60_000 + 7_000), "2h5m");
    assert.equal(formatDuration(4 * 86_400_000 + 3 * 3_600_000), "4d3h");
  });
  it("says in which direction", () => {
    assert.equal(formatRelative(1_000_000 + 192_000, 1_000_000), "in 3m12s");
    assert.equal(formatRelative(1_000_000 - 60_000, 1_000_000), "1m ago");
    assert.equal(formatRelative(1_000_400, 1_000_000), "now");
  });
});
