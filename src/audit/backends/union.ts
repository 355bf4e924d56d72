// k8s.io/apiserver@v0.37.2 pkg/audit/union.go: every backend gets every event, in turn; the
// call succeeds when all of them did. One backend is returned as it is.
import { type AuditBackend, type AuditEvent, allStored, type Stored } from "../types.ts";

export function union(...backends: AuditBackend[]): AuditBackend {
  if (backends.length === 1) return backends[0] as AuditBackend;
  return new UnionBackend(backends);
}

class UnionBackend implements AuditBackend {
  readonly #backends: readonly AuditBackend[];

  constructor(backends: readonly AuditBackend[]) {
    this.#backends = backends;
  }

  processEvents(...events: AuditEvent[]): Stored {
    // Every backend gets the events, whatever the others answered (Go: `f() && success`).
    return allStored(this.#backends.map((backend) => backend.processEvents(...events)));
  }

  run(): void {
    for (const backend of this.#backends) backend.run();
  }

  async shutdown(): Promise<void> {
    // Go shuts them down one after the other; each waits for its own batches.
    for (const backend of this.#backends) await backend.shutdown();
  }

  toString(): string {
    return `union[${this.#backends.map(String).join(",")}]`;
  }
}
