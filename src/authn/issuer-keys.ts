import type { IncomingHttpHeaders } from "node:http";
import * as https from "node:https";
import { jwksExpiry, readJwks, type SigningKey } from "../apiserver/jwks.ts";
import type { JwtAuthenticatorConfig } from "./jwt-config.ts";

export interface IssuerKeysEvents {
  onDiscovery?(issuer: string, ok: boolean, error?: Error): void;
  onKeysFetched?(issuer: string, ok: boolean, error?: Error): void;
}

const discoveryRetryMs = 10_000;
const keyRetryMs = 10_000;
const requestTimeoutMs = 30_000;
const maxDocumentBytes = 1 << 20;
/**
 * go-oidc v2.5.0 jwks.go keysExpiryDelta: a token whose key is not cached refetches the set only
 * when its expiry (from the fetch's Cache-Control or Expires) is less than this far ahead.
 */
const keysExpiryDeltaMs = 30_000;

interface Fetched {
  readonly body: string;
  readonly headers: IncomingHttpHeaders;
}

function get(url: string, ca: string | undefined, signal: AbortSignal): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      url,
      { ca, timeout: requestTimeoutMs, signal, headers: { accept: "application/json" } },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxDocumentBytes) req.destroy(new Error(`${url}: response larger than ${maxDocumentBytes} bytes`));
          else chunks.push(chunk);
        });
        res.on("end", () => {
          if (res.statusCode !== 200) return reject(new Error(`GET ${url}: HTTP ${res.statusCode}`));
          resolve({ body: Buffer.concat(chunks).toString("utf8"), headers: res.headers });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET ${url}: timed out after ${requestTimeoutMs} ms`)));
    req.on("error", reject);
  });
}

async function getJson(url: string, ca: string | undefined, signal: AbortSignal): Promise<unknown> {
  const { body } = await get(url, ca, signal);
  try {
    return JSON.parse(body);
  } catch (error) {
    throw new Error(`GET ${url}: invalid JSON: ${(error as Error).message}`);
  }
}

export class IssuerKeys {
  readonly #config: JwtAuthenticatorConfig;
  readonly #events: IssuerKeysEvents;
  readonly #abort = new AbortController();
  readonly #refetchCooldownMs: number;
  #jwksUri: string | undefined;
  #keys: SigningKey[] = [];
  #lastFetch = 0;
  /** When the cached set expires (go-oidc remoteKeySet.expiry): refetching before is refused. */
  #expiry = 0;
  #inflight: Promise<void> | undefined;
  #discoveryError: Error | undefined = new Error("discovery has not completed yet");
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(config: JwtAuthenticatorConfig, events: IssuerKeysEvents = {}, refetchCooldownMs = 5_000) {
    this.#config = config;
    this.#events = events;
    this.#refetchCooldownMs = refetchCooldownMs;
  }

  get issuerUrl(): string {
    return this.#config.issuer.url;
  }

  /** Undefined once discovery and the first key fetch succeeded; else why not. */
  get notReadyReason(): Error | undefined {
    return this.#discoveryError;
  }

  /** Starts discovery in the background, retrying until it succeeds or `close()`. */
  start(): void {
    void this.#discover();
  }

  close(): void {
    this.#abort.abort();
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
  }

  async #discover(): Promise<void> {
    const url =
      this.#config.issuer.discoveryUrl ??
      `${this.#config.issuer.url.replace(/\/$/, "")}/.well-known/openid-configuration`;
    while (!this.#abort.signal.aborted) {
      try {
        const doc = (await getJson(url, this.#config.issuer.certificateAuthority, this.#abort.signal)) as {
          issuer?: unknown;
          jwks_uri?: unknown;
        };
        if (doc.issuer !== this.#config.issuer.url) {
          throw new Error(
            `oidc: issuer did not match the issuer returned by provider, expected ${JSON.stringify(this.#config.issuer.url)} got ${JSON.stringify(doc.issuer)}`,
          );
        }
        if (typeof doc.jwks_uri !== "string") throw new Error("discovery document has no jwks_uri");
        this.#jwksUri = doc.jwks_uri;
        await this.#fetchKeys();
        this.#discoveryError = undefined;
        this.#events.onDiscovery?.(this.issuerUrl, true);
        return;
      } catch (error) {
        if (this.#abort.signal.aborted) return;
        this.#discoveryError = error as Error;
        this.#events.onDiscovery?.(this.issuerUrl, false, error as Error);
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, discoveryRetryMs);
          this.#abort.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            resolve(undefined);
          });
        });
      }
    }
  }

  async #fetchKeys(): Promise<void> {
    if (!this.#jwksUri) return;
    this.#lastFetch = Date.now();
    try {
      const { body, headers } = await get(this.#jwksUri, this.#config.issuer.certificateAuthority, this.#abort.signal);
      // go-oidc keeps the keys it had when the new set cannot be read (jwks.go keysFromRemote).
      this.#keys = readJwks(body);
      this.#expiry = jwksExpiry(headers, Date.now());
      this.#events.onKeysFetched?.(this.issuerUrl, true);
    } catch (error) {
      if (this.#abort.signal.aborted) throw error;
      this.#events.onKeysFetched?.(this.issuerUrl, false, error as Error);
      this.#scheduleRetry();
      throw error;
    }
  }

  /** After discovery, a failed key fetch is retried until one succeeds (discovery retries itself). */
  #scheduleRetry(): void {
    if (this.#retryTimer || this.#discoveryError || this.#abort.signal.aborted) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#inflight) this.#startFetch().catch(() => {});
    }, keyRetryMs);
    this.#retryTimer.unref();
  }

  #startFetch(): Promise<void> {
    this.#inflight = this.#fetchKeys().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** The cached keys a token with this `kid` may be signed with (all when it has none). */
  candidates(kid: string | undefined): SigningKey[] {
    return kid === undefined ? this.#keys : this.#keys.filter((k) => k.kid === kid);
  }

  /**
   * Refetches the key set when go-oidc would (jwks.go verify: the cached set expires within
   * keysExpiryDelta) and the cooldown allows; concurrent callers share one fetch (go-oidc's
   * inflight). Resolves to whether a fetch happened. The cooldown is the gateway's own: go-oidc
   * refetches on every unknown kid when the issuer sends no caching headers.
   */
  async refresh(): Promise<boolean> {
    if (this.#inflight) {
      await this.#inflight;
      return true;
    }
    const now = Date.now();
    if (now + keysExpiryDeltaMs <= this.#expiry) return false;
    if (now - this.#lastFetch < this.#refetchCooldownMs) return false;
    await this.#startFetch().catch(() => {});
    return true;
  }
}
