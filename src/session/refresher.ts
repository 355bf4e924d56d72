// Refresh before expiry, once. A session's tokens are refreshed when the id token nears its own
// `exp` (not on a fixed timer), by exactly one caller at a time across tabs and replicas: a
// lock in the store, then a second look at the record (another replica may have refreshed while
// we waited), then the issuer. Callers who find the lock taken wait for the new record. An
// expired id token is never handed out: if the issuer cannot be reached in time the caller gets
// REFRESH_UNAVAILABLE; if it refuses the refresh token (invalid_grant) the session ends.
import { SessionError } from "./errors.ts";
import { type IssuerClient, isInvalidGrant } from "./issuer-client.ts";
import { type SessionRecord, type Sessions, tokensFrom } from "./sessions.ts";

export type RefreshOutcome = "success" | "shared" | "rejected" | "unavailable";

export interface RefresherOptions {
  readonly sessions: Sessions;
  readonly issuer: Pick<IssuerClient, "refresh">;
  readonly refreshAheadMs: number;
  readonly lockTtlMs?: number;
  /** How long a caller waits for another's refresh before giving up. */
  readonly waitMs?: number;
  readonly onRefresh?: (outcome: RefreshOutcome, error?: unknown) => void;
}

/** When `record` should be refreshed: ahead of exp, by at most a quarter of the token's lifetime. */
export function refreshDueAt(record: SessionRecord, refreshAheadMs: number): number {
  const lifetime = Math.max(0, record.idTokenExpiresAt - record.idTokenIssuedAt);
  return record.idTokenExpiresAt - Math.min(refreshAheadMs, lifetime / 4);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A refresh requested on demand is skipped if the tokens are younger than this. */
const onDemandMinimumAgeMs = 5_000;

export class SessionRefresher {
  readonly #options: RefresherOptions;
  readonly #inflight = new Map<string, Promise<SessionRecord>>();

  constructor(options: RefresherOptions) {
    this.#options = options;
  }

  dueAt(record: SessionRecord): number {
    return refreshDueAt(record, this.#options.refreshAheadMs);
  }

  /**
   * The session with tokens that are not due for refresh, refreshing first if they are (or,
   * with `onDemand`, unless they were refreshed in the last few seconds).
   */
  async fresh(record: SessionRecord, onDemand = false): Promise<SessionRecord> {
    if (!this.#needsRefresh(record, onDemand)) return record;
    if (record.refreshToken === undefined) {
      if (Date.now() < record.idTokenExpiresAt) return record;
      await this.#options.sessions.end(record.id);
      throw new SessionError("SESSION_ENDED", "the id token expired and the issuer gave no refresh token");
    }
    let inflight = this.#inflight.get(record.id);
    if (!inflight) {
      inflight = this.#coordinated(record, onDemand).finally(() => this.#inflight.delete(record.id));
      this.#inflight.set(record.id, inflight);
    }
    return inflight;
  }

  #needsRefresh(record: SessionRecord, onDemand: boolean): boolean {
    const now = Date.now();
    if (onDemand) return now - (record.refreshedAt ?? record.createdAt) >= onDemandMinimumAgeMs;
    return now >= this.dueAt(record);
  }

  async #coordinated(seen: SessionRecord, onDemand: boolean): Promise<SessionRecord> {
    const { sessions, lockTtlMs = 15_000, waitMs = 10_000 } = this.#options;
    const deadline = Date.now() + waitMs;
    const current = async () => {
      const record = await sessions.get(seen.id);
      if (!record) throw new SessionError("SESSION_ENDED", "the session ended while it was being refreshed");
      return record;
    };
    for (;;) {
      const release = await sessions.store.tryLock(`refresh:${seen.id}`, lockTtlMs);
      if (release) {
        try {
          const latest = await current();
          // Refreshed by someone else between our read and the lock: use theirs.
          if (latest.idToken !== seen.idToken || !this.#needsRefresh(latest, onDemand)) {
            this.#options.onRefresh?.("shared");
            return latest;
          }
          return await this.#refresh(latest);
        } finally {
          await release().catch(() => {});
        }
      }
      await sleep(100);
      const latest = await current();
      if (latest.idToken !== seen.idToken) {
        this.#options.onRefresh?.("shared");
        return latest;
      }
      if (Date.now() > deadline) {
        if (Date.now() < latest.idTokenExpiresAt) return latest;
        this.#options.onRefresh?.("unavailable");
        throw new SessionError("REFRESH_UNAVAILABLE", "another refresh of this session did not finish in time");
      }
    }
  }

  async #refresh(record: SessionRecord): Promise<SessionRecord> {
    const { sessions, issuer, onRefresh } = this.#options;
    let response: Awaited<ReturnType<IssuerClient["refresh"]>>;
    try {
      response = await issuer.refresh(record.refreshToken ?? "");
    } catch (error) {
      if (isInvalidGrant(error)) {
        // Reuse grace: if the stored refresh token changed, a refresh elsewhere rotated it
        // (our lock lapsed); the session is alive with the newer tokens.
        const latest = await sessions.get(record.id);
        if (latest && latest.refreshToken !== record.refreshToken) {
          onRefresh?.("shared");
          return latest;
        }
        onRefresh?.("rejected", error);
        await sessions.end(record.id);
        throw new SessionError("REFRESH_REJECTED", "the issuer refused the refresh token (invalid_grant)", {
          cause: error,
        });
      }
      onRefresh?.("unavailable", error);
      // The issuer is unreachable or erring: keep serving while the current token is valid.
      if (Date.now() < record.idTokenExpiresAt) return record;
      throw new SessionError("REFRESH_UNAVAILABLE", `refresh failed: ${(error as Error).message}`, { cause: error });
    }
    const now = Date.now();
    const updated: SessionRecord = {
      ...record,
      ...tokensFrom(response, now, record.maxExpiresAt, record),
      refreshedAt: now,
      refreshes: record.refreshes + 1,
    };
    await sessions.save(updated);
    onRefresh?.("success");
    return updated;
  }
}
