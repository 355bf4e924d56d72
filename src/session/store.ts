// Where sessions live. The store holds opaque sealed records (it never sees tokens in clear),
// short-lived locks, and indexes from the issuer's `sid` and `sub` to session ids for
// back-channel logout. Ending a session is announced to every replica, so each can close the
// WebSockets it holds for that session.

export interface SessionStore {
  get(id: string): Promise<string | undefined>;
  /** Writes a record that the store forgets at `expiresAt` (epoch ms). */
  put(id: string, sealed: string, expiresAt: number): Promise<void>;
  /** Removes a session and announces its end; true if it existed. */
  delete(id: string): Promise<boolean>;
  /** Adds `id` under an index key (e.g. a hashed sid), kept until `expiresAt`. */
  index(key: string, id: string, expiresAt: number): Promise<void>;
  indexed(key: string): Promise<string[]>;
  /** Takes a lock for `ttlMs` if nobody holds it; the result releases it (only if still ours). */
  tryLock(key: string, ttlMs: number): Promise<(() => Promise<void>) | undefined>;
  /** Called for every session that ends, in this replica or another. */
  onEnded(listener: (id: string) => void): void;
  /** Undefined when usable; else why not (readiness). */
  readonly notReadyReason: string | undefined;
  close(): Promise<void>;
}
