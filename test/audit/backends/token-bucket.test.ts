// client-go's token bucket (flowcontrol.NewTokenBucketRateLimiter over x/time/rate): full at
// start with `burst` tokens, refilled at `qps` a second, never above `burst`.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TokenBucket } from "../../../src/audit/backends/token-bucket.ts";

describe("TokenBucket", () => {
  it("burst tokens at once, then one every 1/qps seconds", () => {
    let now = 0;
    const bucket = new TokenBucket(10, 3, () => now);
    assert.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 0]);
    assert.equal(Math.round(bucket.reserve()), 100);
    assert.equal(Math.round(bucket.reserve()), 200, "reservations queue behind each other");
    now = 1_000;
    // 1 s refills 10 tokens, 2 of which the waiting reservations took; capped at the burst of 3.
    assert.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 0]);
    assert.equal(Math.round(bucket.reserve()), 100);
  });

  it("accept() resolves after the wait on a real timer", async () => {
    const bucket = new TokenBucket(20, 1);
    await bucket.accept();
    const started = performance.now();
    await bucket.accept();
    assert.ok(performance.now() - started >= 40, `${performance.now() - started} ms`);
  });
});
