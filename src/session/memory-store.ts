// The session store of a single replica: maps in this process. Sessions do not survive a
// restart; several replicas need the Redis store.
import type { SessionStore } from "./store.ts";

interface Entry<T> {
  value: T;
  expiresAt: number;
}

export class MemoryStore implements SessionStore {
  readonly #records = new Map<string, Entry<string>>();
  readonly #indexes = new Map<string, Map<string, number>>();
  readonly #locks = new Map<string, { owner: symbol; expiresAt: number }>();
  readonly #listeners: ((id: string) => void)[] = [];
  readonly #sweeper: NodeJS.Timeout;
  readonly notReadyReason = undefined;

  constructor(sweepIntervalMs = 60_000) {
    this.#sweeper = setInterval(() => this.#sweep(), sweepIntervalMs);
    this.#sweeper.unref();
  }

  #sweep(now = Date.now()): void {
    for (const [id, entry] of this.#records) if (entry.expiresAt <= now) this.#records.delete(id);
    for (const [key, ids] of this.#indexes) {
      for (const [id, expiresAt] of ids) if (expiresAt <= now) ids.delete(id);
      if (ids.size === 0) this.#indexes.delete(key);
    }
    for (const [key, lock] of this.#locks) if (lock.expiresAt <= now) this.#locks.delete(key);
  }

  async get(id: string): Promise<string | undefined> {
    const entry = this.#records.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#records.delete(id);
      return undefined;
    }
    return entry.value;
  }

  async put(id: string, sealed: string, expiresAt: number): Promise<void> {
    this.#records.set(id, { value: sealed, expiresAt });
  }

  async delete(id: string): Promise<boolean> {
    const existed = this.#records.delete(id);
    for (const listener of this.#listeners) listener(id);
    return existed;
  }

  async index(key: string, id: string, expiresAt: number): Promise<void> {
    let ids = this.#indexes.get(key);
    if (!ids) {
      ids = new Map();
      this.#indexes.set(key, ids);
    }
    ids.set(id, expiresAt);
  }

  async indexed(key: string): Promise<string[]> {
    const now = Date.now();
    return [...(this.#indexes.get(key) ?? [])].filter(([, expiresAt]) => expiresAt > now).map(([id]) => id);
  }

  async tryLock(key: string, ttlMs: number): Promise<(() => Promise<void>) | undefined> {
    const now = Date.now();
    const held = this.#locks.get(key);
    if (held && held.expiresAt > now) return undefined;
    const owner = Symbol(key);
    this.#locks.set(key, { owner, expiresAt: now + ttlMs });
    return async () => {
      if (this.#locks.get(key)?.owner === owner) this.#locks.delete(key);
    };
  }

  onEnded(listener: (id: string) => void): void {
    this.#listeners.push(listener);
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
  }
}
