// The gateway's own audit log, for the requests it refused itself: those never reach the API
// server, so they are missing from its audit log. JSON lines, one per refusal; never a token.
import { createWriteStream, type WriteStream } from "node:fs";

export interface AuditRecord {
  readonly user?: string;
  readonly groups?: readonly string[];
  readonly verb: string;
  readonly path: string;
  readonly status: number;
  readonly latencyMs: number;
  /** Why the gateway decided as it did (an error code such as EXPIRED or CLIENT_IMPERSONATION). */
  readonly reason: string;
  readonly sourceIp?: string;
}

export class AuditLog {
  readonly #out: WriteStream | NodeJS.WriteStream;

  /** `path` "-" writes to standard output. */
  constructor(path: string) {
    this.#out = path === "-" ? process.stdout : createWriteStream(path, { flags: "a", mode: 0o600 });
  }

  record(entry: AuditRecord): void {
    this.#out.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
  }

  close(): Promise<void> {
    if (this.#out === process.stdout) return Promise.resolve();
    return new Promise((resolve) => (this.#out as WriteStream).end(() => resolve()));
  }
}
