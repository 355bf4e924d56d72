// The WebSockets (and other upgraded streams) opened with a browser session, so they end when
// the session does: logout here, a back-channel logout at any replica (the store announces it),
// a refused refresh, or the session's end of life. While a session holds sockets, this replica
// refreshes it on time even if no other request comes, so a dead session is noticed.
import type { SessionError } from "./errors.ts";
import type { SessionRefresher } from "./refresher.ts";
import type { SessionRecord, Sessions } from "./sessions.ts";

interface Closable {
  destroy(): void;
  once(event: "close", listener: () => void): unknown;
}

export class SessionSockets {
  readonly #sockets = new Map<string, Set<Closable>>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #sessions: Sessions;
  readonly #refresher: SessionRefresher;
  readonly #onClosed: (id: string, count: number, why: string) => void;

  constructor(
    sessions: Sessions,
    refresher: SessionRefresher,
    onClosed: (id: string, count: number, why: string) => void,
  ) {
    this.#sessions = sessions;
    this.#refresher = refresher;
    this.#onClosed = onClosed;
    sessions.store.onEnded((id) => this.close(id, "session ended"));
  }

  get size(): number {
    let n = 0;
    for (const set of this.#sockets.values()) n += set.size;
    return n;
  }

  add(record: SessionRecord, socket: Closable): void {
    let set = this.#sockets.get(record.id);
    if (!set) {
      set = new Set();
      this.#sockets.set(record.id, set);
    }
    set.add(socket);
    socket.once("close", () => {
      set.delete(socket);
      if (set.size === 0 && this.#sockets.get(record.id) === set) {
        this.#sockets.delete(record.id);
        clearTimeout(this.#timers.get(record.id));
        this.#timers.delete(record.id);
      }
    });
    if (!this.#timers.has(record.id)) this.#schedule(record);
  }

  /** Ends every stream of session `id`. */
  close(id: string, why: string): void {
    clearTimeout(this.#timers.get(id));
    this.#timers.delete(id);
    const set = this.#sockets.get(id);
    if (!set) return;
    this.#sockets.delete(id);
    for (const socket of set) socket.destroy();
    this.#onClosed(id, set.size, why);
  }

  closeAll(): void {
    for (const id of [...this.#sockets.keys()]) this.close(id, "gateway stopping");
  }

  #schedule(record: SessionRecord, delayMs?: number): void {
    const at = Math.min(this.#refresher.dueAt(record), record.expiresAt);
    const timer = setTimeout(() => void this.#keep(record.id), delayMs ?? Math.max(0, at - Date.now()));
    timer.unref();
    this.#timers.set(record.id, timer);
  }

  async #keep(id: string): Promise<void> {
    if (!this.#sockets.has(id)) return;
    try {
      const record = await this.#sessions.get(id);
      if (!record) return this.close(id, "session ended");
      const fresh = await this.#refresher.fresh(record);
      if (this.#sockets.has(id)) this.#schedule(fresh);
    } catch (error) {
      const code = (error as SessionError).code;
      if (code === "SESSION_ENDED" || code === "REFRESH_REJECTED") return this.close(id, code);
      // Issuer or store briefly unavailable: look again soon; the token may still be valid.
      const record = await this.#sessions.get(id).catch(() => undefined);
      if (record && record.idTokenExpiresAt <= Date.now()) return this.close(id, "token expired, refresh failed");
      if (this.#sockets.has(id)) this.#timers.set(id, setTimeout(() => void this.#keep(id), 5_000).unref());
    }
  }
}
