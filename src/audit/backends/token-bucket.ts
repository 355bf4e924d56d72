// client-go's flowcontrol.NewTokenBucketRateLimiter(qps, burst) (k8s.io/client-go@v0.37.2
// util/flowcontrol/throttle.go over golang.org/x/time/rate): the bucket starts full with `burst`
// tokens and refills at `qps` a second up to `burst`; Accept takes one token, waiting for it when
// the bucket is empty. Waiting is a timer here, never a blocked event loop.
export class TokenBucket {
  readonly #qps: number;
  readonly #burst: number;
  #tokens: number;
  #lastMs: number;

  constructor(qps: number, burst: number, now: () => number = () => performance.now()) {
    this.#qps = qps;
    this.#burst = burst;
    this.#tokens = burst;
    this.#now = now;
    this.#lastMs = now();
  }

  readonly #now: () => number;

  /** Reserves a token; resolves when it may be used (at once while the bucket has tokens). */
  accept(): Promise<void> {
    const waitMs = this.reserve();
    return waitMs > 0 ? new Promise((resolve) => setTimeout(resolve, waitMs)) : Promise.resolve();
  }

  /** Takes a token (possibly one not yet refilled) and says how long until it exists, in ms. */
  reserve(): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#lastMs) / 1000) * this.#qps);
    this.#lastMs = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.#qps) * 1000;
  }
}
