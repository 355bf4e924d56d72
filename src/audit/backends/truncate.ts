// The truncating backend: k8s.io/apiserver@v0.37.2 plugin/pkg/audit/truncate/truncate.go
// (--audit-*-truncate-enabled, -max-event-size, -max-batch-size). An event larger than
// maxEventSize at level Request or above loses its requestObject and responseObject and gains the
// annotation "audit.k8s.io/truncated": "true"; still too large, it is dropped (and the error
// logged). The events left go to the delegate in batches whose summed sizes stay within
// maxBatchSize (a batch of one event may be up to maxEventSize, which is at most maxBatchSize).
//
// Sizes are what Go measures: the bytes its JSON encoder writes for the event, which end with
// the "\n" json.Encoder appends, so one more than the encoded event.
//
// One Go behaviour is not copied: truncate() copies the event shallowly, so the annotation lands
// in the annotations map the original event shares with the other backends of a union (a webhook
// beside a truncating log then reports "truncated" for an event it got whole). Here the
// truncated event is a new one and the original is left as it was.
import type { Logger } from "../../observability/logger.ts";
import { encodeEvent } from "../encode.ts";
import {
  type AuditBackend,
  type AuditEvent,
  allStored,
  levelLess,
  type Stored,
  type TruncateConfig,
} from "../types.ts";

export const truncatedAnnotation = "audit.k8s.io/truncated";

/** The size Go's truncate backend gives an event: its encoded bytes and the encoder's newline. */
export function eventSize(event: AuditEvent): number {
  return Buffer.byteLength(encodeEvent(event)) + 1;
}

/** truncate(): the event without request and response objects, annotated as truncated. */
export function truncated(event: AuditEvent): AuditEvent {
  const { requestObject: _request, responseObject: _response, ...rest } = event;
  return { ...rest, annotations: { ...event.annotations, [truncatedAnnotation]: "true" } };
}

export interface TruncateResult {
  readonly batches: AuditEvent[][];
  /** Events dropped because they are too large even after truncating. */
  readonly dropped: AuditEvent[];
}

/** What ProcessEvents hands the delegate, as a pure function (the differential test's subject). */
export function truncateAndSplit(
  events: readonly AuditEvent[],
  config: Pick<TruncateConfig, "maxEventSize" | "maxBatchSize">,
): TruncateResult {
  const batches: AuditEvent[][] = [];
  const dropped: AuditEvent[] = [];
  let batch: AuditEvent[] = [];
  let batchSize = 0;
  for (let event of events) {
    let size = eventSize(event);
    if (size > config.maxEventSize && !levelLess(event.level, "Request")) {
      event = truncated(event);
      size = eventSize(event);
    }
    if (size > config.maxEventSize) {
      dropped.push(event);
      continue;
    }
    if (batch.length > 0 && batchSize + size > config.maxBatchSize) {
      batches.push(batch);
      batch = [];
      batchSize = 0;
    }
    batchSize += size;
    batch.push(event);
  }
  if (batch.length > 0) batches.push(batch);
  return { batches, dropped };
}

export class TruncateBackend implements AuditBackend {
  readonly #delegate: AuditBackend;
  readonly #config: TruncateConfig;
  readonly #logger: Logger;

  constructor(delegate: AuditBackend, config: TruncateConfig, logger: Logger) {
    this.#delegate = delegate;
    this.#config = config;
    this.#logger = logger;
  }

  processEvents(...events: AuditEvent[]): Stored {
    const { batches, dropped } = truncateAndSplit(events, this.#config);
    const success = allStored(batches.map((batch) => this.#delegate.processEvents(...batch)));
    if (dropped.length > 0) {
      // Go's audit.HandlePluginError("truncate", …); dropping does not make the call fail.
      this.#logger.error("Error in audit plugin 'truncate'", {
        error: "event is too large even after truncating",
        events: dropped.length,
        auditIDs: dropped.map((e) => e.auditID),
      });
    }
    return success;
  }

  run(): void {
    this.#delegate.run();
  }

  shutdown(): Promise<void> {
    return this.#delegate.shutdown();
  }

  toString(): string {
    return `truncate<${this.#delegate}>`;
  }
}
