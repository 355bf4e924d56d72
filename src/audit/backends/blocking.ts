// --audit-*-mode: k8s.io/apiserver@v0.37.2 pkg/server/options/audit.go AuditBatchOptions.wrapBackend.
// "blocking-strict" uses the delegate as it is (a failed write fails the request), "blocking"
// wraps it in ignoreErrorsBackend (the write happens in the request, its failure is only
// logged), "batch" buffers it (buffered.ts).
import type { Logger } from "../../observability/logger.ts";
import type { AuditBackend, AuditEvent, BackendMode, BatchConfig, Stored } from "../types.ts";
import { BufferedBackend } from "./buffered.ts";

/** ignoreErrorsBackend: processEvents always answers true. */
export class IgnoreErrorsBackend implements AuditBackend {
  readonly #delegate: AuditBackend;

  constructor(delegate: AuditBackend) {
    this.#delegate = delegate;
  }

  processEvents(...events: AuditEvent[]): Stored {
    // Go's call still blocks on the delegate (a webhook POST); only its answer is ignored.
    const stored = this.#delegate.processEvents(...events);
    return stored instanceof Promise ? stored.then(() => true) : true;
  }

  run(): void {
    this.#delegate.run();
  }

  shutdown(): Promise<void> {
    return this.#delegate.shutdown();
  }

  toString(): string {
    return `ignoreErrors<${this.#delegate}>`;
  }
}

export function wrapBackend(
  delegate: AuditBackend,
  mode: BackendMode,
  batch: BatchConfig,
  /** Go's AsyncDelegate: the webhook's batch configuration sends in parallel, the log's does not. */
  asyncDelegate: boolean,
  logger: Logger,
): AuditBackend {
  if (mode === "blocking-strict") return delegate;
  if (mode === "blocking") return new IgnoreErrorsBackend(delegate);
  return new BufferedBackend(delegate, { ...batch, asyncDelegate }, logger);
}
