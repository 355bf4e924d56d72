// The log backend: k8s.io/apiserver@v0.37.2 plugin/pkg/audit/log/backend.go. Each event is one
// line, "json" (the event as the API server's serializer writes it, then "\n") or "legacy"
// (pkg/audit/format.go EventString), to standard output (--audit-log-path=-) or the rotating
// file. Writes are synchronous, as Go's fmt.Fprint to the file is; a write that fails makes
// processEvents answer false (blocking-strict then fails the request), and is logged once until
// a write succeeds again, where Go logs every failed event (audit.HandlePluginError): a full disk
// must not flood the gateway's own log.
import type { Logger } from "../../observability/logger.ts";
import { encodeEvent } from "../encode.ts";
import type { AuditBackend, AuditEvent } from "../types.ts";
import { eventString } from "./legacy-format.ts";

export type LogFormat = "json" | "legacy";

/** Where the lines go: a RotatingFile, or standard output. */
export interface LineWriter {
  /** Writes the whole line or throws. */
  write(line: string): void;
  close?(): void;
}

/** Standard output, for --audit-log-path=-. */
export const standardOutput: LineWriter = {
  write(line) {
    process.stdout.write(line);
  },
};

export function formatLine(event: AuditEvent, format: LogFormat): string {
  return format === "legacy" ? `${eventString(event)}\n` : `${encodeEvent(event)}\n`;
}

export class LogBackend implements AuditBackend {
  readonly #out: LineWriter;
  readonly #format: LogFormat;
  readonly #logger: Logger;
  #failing = false;

  constructor(out: LineWriter, format: LogFormat, logger: Logger) {
    this.#out = out;
    this.#format = format;
    this.#logger = logger;
  }

  processEvents(...events: AuditEvent[]): boolean {
    let success = true;
    for (const event of events) success = this.#logEvent(event) && success;
    return success;
  }

  #logEvent(event: AuditEvent): boolean {
    try {
      this.#out.write(formatLine(event, this.#format));
    } catch (error) {
      if (!this.#failing) {
        this.#failing = true;
        // Go's message (pkg/audit/metrics.go HandlePluginError), with the event's legacy line.
        this.#logger.error("Error in audit plugin 'log'", {
          error: (error as Error).message,
          event: eventString(event),
        });
      }
      return false;
    }
    if (this.#failing) {
      this.#failing = false;
      this.#logger.info("audit plugin 'log' writes again");
    }
    return true;
  }

  run(): void {}

  shutdown(): Promise<void> {
    this.#out.close?.();
    return Promise.resolve();
  }

  toString(): string {
    return "log";
  }
}
