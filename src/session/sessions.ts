// Session records: what a logged-in browser has (its tokens and their expiry), sealed before
// they reach the store, indexed by the issuer's `sid` and `sub` for back-channel logout.
import { createHash, randomBytes } from "node:crypto";
import { decodeJwt } from "jose";
import { SessionError } from "./errors.ts";
import type { TokenResponse } from "./issuer-client.ts";
import { Sealer } from "./sealer.ts";
import type { SessionStore } from "./store.ts";

export interface SessionRecord {
  readonly id: string;
  readonly issuer: string;
  readonly subject: string;
  /** The issuer's session id (`sid` claim), for back-channel logout. */
  readonly sid?: string;
  readonly idToken: string;
  readonly accessToken: string;
  readonly refreshToken?: string;
  /** The id token's exp and iat, epoch ms. */
  readonly idTokenExpiresAt: number;
  readonly idTokenIssuedAt: number;
  /** When the access token expires (expires_in), epoch ms. */
  readonly accessTokenExpiresAt: number;
  /** When the session ends: the refresh token's expiry (or the id token's without one), capped. */
  readonly expiresAt: number;
  readonly createdAt: number;
  /** Latest end allowed by --session-max-lifetime. */
  readonly maxExpiresAt: number;
  readonly refreshedAt?: number;
  readonly refreshes: number;
}

/** The issuer's sid / sub as index keys: hashed, so the store never holds them in clear. */
export function indexKey(kind: "sid" | "sub", issuer: string, value: string): string {
  return `${kind}:${createHash("sha256").update(`${issuer}\0${value}`).digest("base64url")}`;
}

/**
 * The token fields of a record from a token endpoint response. `previous` is the record being
 * refreshed: issuers may omit a new refresh token (keep the old one) or, on refresh, the id token.
 */
export function tokensFrom(
  response: TokenResponse,
  now: number,
  maxExpiresAt: number,
  previous?: SessionRecord,
): Omit<SessionRecord, "id" | "createdAt" | "maxExpiresAt" | "refreshes" | "refreshedAt"> {
  const idToken = response.id_token;
  if (!idToken) {
    throw new SessionError(
      "LOGIN_FAILED",
      "the issuer's token response has no id_token (is the openid scope granted?)",
    );
  }
  const claims = decodeJwt(idToken);
  if (typeof claims.exp !== "number" || typeof claims.iss !== "string" || typeof claims.sub !== "string") {
    throw new SessionError("LOGIN_FAILED", "the issuer's id token lacks exp, iss or sub");
  }
  if (previous && (claims.sub !== previous.subject || claims.iss !== previous.issuer)) {
    throw new SessionError("LOGIN_FAILED", "the refreshed id token names another subject or issuer");
  }
  const idTokenExpiresAt = claims.exp * 1000;
  const refreshToken = response.refresh_token ?? previous?.refreshToken;
  // Keycloak reports the refresh token's life (SSO idle) as refresh_expires_in; 0 means an
  // offline token bounded only by the maximum.
  const refreshExpiresIn = Number(response.refresh_expires_in);
  const refreshExpiresAt =
    refreshToken === undefined
      ? idTokenExpiresAt
      : Number.isFinite(refreshExpiresIn) && refreshExpiresIn > 0
        ? now + refreshExpiresIn * 1000
        : maxExpiresAt;
  return {
    issuer: claims.iss,
    subject: claims.sub,
    sid: typeof claims.sid === "string" ? claims.sid : previous?.sid,
    idToken,
    accessToken: response.access_token,
    refreshToken,
    idTokenExpiresAt,
    idTokenIssuedAt: typeof claims.iat === "number" ? claims.iat * 1000 : now,
    accessTokenExpiresAt: now + (response.expires_in ?? (idTokenExpiresAt - now) / 1000) * 1000,
    expiresAt: Math.min(refreshExpiresAt, maxExpiresAt),
  };
}

export class Sessions {
  readonly #store: SessionStore;
  readonly #sealer: Sealer;
  readonly #maxLifetimeMs: number;

  constructor(store: SessionStore, secrets: readonly string[], maxLifetimeMs: number) {
    this.#store = store;
    this.#sealer = new Sealer(secrets, "session-record");
    this.#maxLifetimeMs = maxLifetimeMs;
  }

  get store(): SessionStore {
    return this.#store;
  }

  async create(response: TokenResponse, now = Date.now()): Promise<SessionRecord> {
    const maxExpiresAt = now + this.#maxLifetimeMs;
    const record: SessionRecord = {
      id: randomBytes(32).toString("base64url"),
      createdAt: now,
      maxExpiresAt,
      refreshes: 0,
      ...tokensFrom(response, now, maxExpiresAt),
    };
    await this.save(record);
    if (record.sid) await this.#store.index(indexKey("sid", record.issuer, record.sid), record.id, record.maxExpiresAt);
    await this.#store.index(indexKey("sub", record.issuer, record.subject), record.id, record.maxExpiresAt);
    return record;
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const sealed = await this.#store.get(id);
    if (sealed === undefined) return undefined;
    const payload = await this.#sealer.open(sealed);
    const record = payload?.record as SessionRecord | undefined;
    return record?.id === id && record.expiresAt > Date.now() ? record : undefined;
  }

  async save(record: SessionRecord): Promise<void> {
    await this.#store.put(record.id, await this.#sealer.seal({ record }, record.expiresAt), record.expiresAt);
  }

  end(id: string): Promise<boolean> {
    return this.#store.delete(id);
  }

  /** Ends every session of the issuer's `sid` (or, without one, of `sub`); returns how many. */
  async endAll(kind: "sid" | "sub", issuer: string, value: string): Promise<number> {
    let ended = 0;
    for (const id of await this.#store.indexed(indexKey(kind, issuer, value))) {
      if (await this.end(id)) ended++;
    }
    return ended;
  }
}
