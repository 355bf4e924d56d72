// The batching backend of --audit-*-mode=batch: k8s.io/apiserver@v0.37.2
// plugin/pkg/audit/buffered/buffered.go. Events wait in a buffer of bufferSize; a batch of at
// most maxBatchSize goes to the delegate when that many are waiting or, with maxBatchSize above
// one, maxBatchWait after the previous batch was started; with throttleEnable a token bucket
// (throttleQps, throttleBurst) spaces the batches. What does not fit in the buffer is dropped:
// processEvents still answers true, as Go's does ("audit buffer queue blocked" is logged), and
// false once shutdown has begun (Go recovers from sending on the closed channel and returns the
// zero value). shutdown() sends what was collected and everything still buffered, waits for the
// batches in flight, then shuts the delegate down.
//
// Go's batching goroutine becomes an async loop on timers: processEvents only appends to the
// buffer, the sending happens after the caller has returned. With asyncDelegate (the webhook's
// configuration) each batch is sent without waiting for the previous one, as Go's goroutine per
// batch; unlike Go (which leaves the number of active goroutines unbounded, a known gap) at most
// maxInFlight batches are in flight, the loop waits for one to finish beyond that, so a stalled
// webhook fills the bounded buffer instead of memory. And shutdown waits for them at most
// shutdownGraceMs (Go waits without a bound; each webhook call has its own bounds anyway).
import type { Logger } from "../../observability/logger.ts";
import type { AuditBackend, AuditEvent, BatchConfig } from "../types.ts";
import { TokenBucket } from "./token-bucket.ts";

/** A delegate whose outcome comes later (the webhook): batches are awaited through send. */
export interface AsyncDelegate extends AuditBackend {
  send(events: readonly AuditEvent[]): Promise<boolean>;
}

const isAsync = (backend: AuditBackend): backend is AsyncDelegate =>
  typeof (backend as Partial<AsyncDelegate>).send === "function";

export interface BufferedOptions extends BatchConfig {
  /** Go's BatchConfig.AsyncDelegate: true for the webhook, false for the log. */
  readonly asyncDelegate: boolean;
  readonly maxInFlight?: number;
  readonly shutdownGraceMs?: number;
}

export class BufferedBackend implements AuditBackend {
  readonly #delegate: AuditBackend;
  readonly #config: BufferedOptions;
  readonly #logger: Logger;
  readonly #throttle: TokenBucket | undefined;
  readonly #queue: AuditEvent[] = [];
  readonly #inFlight = new Set<Promise<unknown>>();
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #stopping = false;
  #dropping = false;
  #dropped = 0;

  constructor(delegate: AuditBackend, config: BufferedOptions, logger: Logger) {
    this.#delegate = delegate;
    this.#config = config;
    this.#logger = logger;
    if (config.throttleEnable) this.#throttle = new TokenBucket(config.throttleQps, config.throttleBurst);
  }

  /** Events dropped because the buffer was full (since start). */
  get dropped(): number {
    return this.#dropped;
  }

  processEvents(...events: AuditEvent[]): boolean {
    if (this.#stopping) {
      this.#pluginError("audit backend shut down", events.length);
      return false;
    }
    for (let i = 0; i < events.length; i++) {
      if (this.#queue.length >= this.#config.bufferSize) {
        this.#dropped += events.length - i;
        if (!this.#dropping) this.#pluginError("audit buffer queue blocked", events.length - i);
        this.#dropping = true;
        break;
      }
      this.#dropping = false;
      this.#queue.push(events[i] as AuditEvent);
    }
    this.#wake?.();
    return true;
  }

  run(): void {
    this.#delegate.run();
    this.#loop ??= this.#batching();
  }

  async shutdown(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    this.#loop ??= this.#batching();
    await this.#loop;
    const grace = this.#config.shutdownGraceMs ?? 60_000;
    if (this.#inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), grace);
      });
      const late = await Promise.race([Promise.allSettled([...this.#inFlight]).then(() => false), expired]);
      clearTimeout(timer);
      if (late) {
        this.#logger.warn("audit batches still being sent at shutdown are abandoned", {
          backend: String(this),
          batches: this.#inFlight.size,
          graceMs: grace,
        });
      }
    }
    await this.#delegate.shutdown();
  }

  toString(): string {
    return `buffered<${this.#delegate}>`;
  }

  async #batching(): Promise<void> {
    while (!this.#stopping) await this.#process(await this.#collect());
    // Events that came before the stop and were not collected yet (Go: the buffer is closed and
    // drained in full batches until empty).
    while (this.#queue.length > 0) await this.#process(this.#queue.splice(0, this.#config.maxBatchSize));
  }

  /** collectEvents: up to maxBatchSize events, or fewer when the timer fires or on shutdown. */
  #collect(): Promise<AuditEvent[]> {
    const max = this.#config.maxBatchSize;
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve(this.#queue.splice(0, max));
      };
      if (this.#queue.length >= max || this.#stopping) return done();
      // Only batches of more than one event wait for the timer (Go: `if b.maxBatchSize > 1`).
      if (max > 1) timer = setTimeout(done, this.#config.maxBatchWaitMs);
      this.#wake = () => {
        if (this.#queue.length >= max || this.#stopping) done();
      };
    });
  }

  async #process(batch: AuditEvent[]): Promise<void> {
    if (batch.length === 0) return;
    await this.#throttle?.accept();
    const delegate = this.#delegate;
    if (this.#config.asyncDelegate) {
      const limit = this.#config.maxInFlight ?? 64;
      while (this.#inFlight.size >= limit) await Promise.race(this.#inFlight);
      const sending = (async () => (isAsync(delegate) ? delegate.send(batch) : delegate.processEvents(...batch)))()
        .catch((error: unknown) => this.#crash(error, batch.length))
        .finally(() => this.#inFlight.delete(sending));
      this.#inFlight.add(sending);
      return;
    }
    try {
      delegate.processEvents(...batch);
    } catch (error) {
      this.#crash(error, batch.length); // Go: runtime.HandleCrash, the loop goes on
    }
  }

  #crash(error: unknown, events: number): void {
    this.#pluginError(`delegate failed: ${(error as Error)?.message ?? String(error)}`, events);
  }

  #pluginError(message: string, events: number): void {
    // pkg/audit/metrics.go HandlePluginError("buffered", …)
    this.#logger.error("Error in audit plugin 'buffered'", { error: message, events, backend: String(this) });
  }
}
