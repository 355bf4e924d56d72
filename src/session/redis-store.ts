// The session store shared by several replicas: Redis. Records and index sets expire with the
// session (PXAT); locks are SET NX PX and released by a compare-and-delete script, so a replica
// never releases a lock that expired and was taken by another; ended sessions are announced on
// a pub/sub channel so every replica can close that session's WebSockets.
import { SessionError } from "./errors.ts";
import type { SessionStore } from "./store.ts";

const releaseScript = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

export interface RedisStoreOptions {
  readonly url: string;
  /** Prefix of every key and of the channel, so several gateways can share one Redis. */
  readonly prefix?: string;
  readonly onError?: (error: Error) => void;
}

// Loaded when a Redis store is configured, not at start-up: the client library adds ~25 MiB to
// the resident memory of every gateway that imports it, and most run without Redis. The client
// alone (@redis/client), not the `redis` meta-package, which adds the RedisBloom, RedisJSON,
// RediSearch and RedisTimeSeries command modules (3 MB installed) that no store command uses.
async function newClient(url: string) {
  const { createClient } = await import("@redis/client");
  return createClient({
    url,
    // Fail commands at once while disconnected instead of queueing them: a request must get
    // a clear 503, not hang until Redis returns.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 5_000,
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 5_000),
    },
  });
}
type Client = Awaited<ReturnType<typeof newClient>>;

export class RedisStore implements SessionStore {
  readonly #client: Client;
  readonly #subscriber: Client;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #listeners: ((id: string) => void)[] = [];

  private constructor(client: Client, subscriber: Client, prefix: string) {
    this.#client = client;
    this.#subscriber = subscriber;
    this.#prefix = prefix;
    this.#channel = `${prefix}session-ended`;
  }

  /** Connects (retrying in the background if Redis is not up yet) and subscribes. */
  static async connect(options: RedisStoreOptions): Promise<RedisStore> {
    const client = await newClient(options.url);
    const onError = (error: Error) => options.onError?.(error);
    client.on("error", onError);
    const subscriber = client.duplicate();
    subscriber.on("error", onError);
    const store = new RedisStore(client, subscriber, options.prefix ?? "kog:");
    await Promise.all([client.connect(), subscriber.connect()]);
    await subscriber.subscribe(store.#channel, (id: string) => {
      for (const listener of store.#listeners) listener(id);
    });
    return store;
  }

  get notReadyReason(): string | undefined {
    return this.#client.isReady && this.#subscriber.isReady ? undefined : "the Redis session store is not connected";
  }

  async #run<T>(what: string, command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw new SessionError("STORE_UNAVAILABLE", `Redis ${what}: ${(error as Error).message}`, { cause: error });
    }
  }

  get(id: string): Promise<string | undefined> {
    return this.#run("GET", async () => (await this.#client.get(`${this.#prefix}session:${id}`)) ?? undefined);
  }

  async put(id: string, sealed: string, expiresAt: number): Promise<void> {
    await this.#run("SET", () =>
      this.#client.set(`${this.#prefix}session:${id}`, sealed, { expiration: { type: "PXAT", value: expiresAt } }),
    );
  }

  async delete(id: string): Promise<boolean> {
    const removed = await this.#run("DEL", () => this.#client.del(`${this.#prefix}session:${id}`));
    await this.#run("PUBLISH", () => this.#client.publish(this.#channel, id));
    return removed > 0;
  }

  async index(key: string, id: string, expiresAt: number): Promise<void> {
    const setKey = `${this.#prefix}index:${key}`;
    await this.#run("SADD", async () => {
      await this.#client.sAdd(setKey, id);
      // The set lives as long as its longest-lived member might.
      const ttl = await this.#client.pTTL(setKey);
      if (ttl < 0 || ttl < expiresAt - Date.now()) await this.#client.pExpireAt(setKey, expiresAt);
    });
  }

  indexed(key: string): Promise<string[]> {
    return this.#run("SMEMBERS", () => this.#client.sMembers(`${this.#prefix}index:${key}`));
  }

  async tryLock(key: string, ttlMs: number): Promise<(() => Promise<void>) | undefined> {
    const lockKey = `${this.#prefix}lock:${key}`;
    const owner = crypto.randomUUID();
    const taken = await this.#run("SET NX", () =>
      this.#client.set(lockKey, owner, { expiration: { type: "PX", value: ttlMs }, condition: "NX" }),
    );
    if (taken !== "OK") return undefined;
    return async () => {
      await this.#run("EVAL", () => this.#client.eval(releaseScript, { keys: [lockKey], arguments: [owner] }));
    };
  }

  onEnded(listener: (id: string) => void): void {
    this.#listeners.push(listener);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.#subscriber.close(), this.#client.close()]);
  }
}
