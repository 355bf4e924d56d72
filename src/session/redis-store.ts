// The session store shared by several replicas: Redis. Records and index sets expire with the
// session (PXAT); locks are SET NX PX and released by a compare-and-delete script, so a replica
// never releases a lock that expired and was taken by another; ended sessions are announced on
// a pub/sub channel so every replica can close that session's WebSockets.
import { SessionError } from "./errors.ts";
import type { SessionStore } from "./store.ts";

const releaseScript = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

/** A host and port of a Sentinel or a Cluster node. */
export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

/**
 * How to reach Redis: one server (a redis:// or rediss:// URL), a Sentinel-watched master (the
 * sentinels and the master's name), or a Cluster (some of its nodes; the rest are discovered).
 */
export type RedisTopology =
  | { readonly kind: "standalone"; readonly url: string }
  | {
      readonly kind: "sentinel";
      readonly masterName: string;
      readonly sentinels: readonly RedisNode[];
      /** The sentinels' own ACL user, when they require one (Sentinel's `requirepass`/`user`). */
      readonly sentinelUsername?: string;
      readonly sentinelPassword?: string;
    }
  | { readonly kind: "cluster"; readonly nodes: readonly RedisNode[] };

export interface RedisStoreOptions {
  /** Shorthand for a standalone topology (what --session-redis-url alone configures). */
  readonly url?: string;
  readonly topology?: RedisTopology;
  /** TLS toward every node (and the sentinels); implied by a rediss:// URL. */
  readonly tls?: boolean;
  /** PEM of the CA that signed the servers' certificates; Node's roots otherwise. */
  readonly ca?: string;
  /** The data nodes' ACL user (URL userinfo works too for a standalone server). */
  readonly username?: string;
  readonly password?: string;
  /** Prefix of every key and of the channel, so several gateways can share one Redis. */
  readonly prefix?: string;
  readonly onError?: (error: Error) => void;
  /** Stops the start-up retries of a Cluster that is not up yet (shutdown during start-up). */
  readonly signal?: AbortSignal;
}

/**
 * The commands the store sends, for a Redis ACL user (`+get +set …`, with `~<prefix>*` keys and
 * `&<prefix>*` channels); docs/sessions.md lists them and redis-tls-acl.test.ts runs the store as a
 * user allowed only these. EVAL runs the lock-release script, whose GET and DEL the user must be
 * allowed too. @redis/client's CLIENT SETINFO at connect may be refused: it ignores that
 * (lib/client/index.js, errorHandler of the handshake). A Cluster client reads the slot map with
 * CLUSTER SLOTS (lib/cluster/cluster-slots.js). Sentinels are asked SENTINEL MASTER, REPLICAS
 * and SENTINELS and subscribed to for topology changes (lib/sentinel/index.js).
 */
export const redisAclCommands = {
  standalone: ["get", "set", "del", "publish", "subscribe", "sadd", "pttl", "pexpireat", "smembers", "eval"],
  cluster: [
    "get",
    "set",
    "del",
    "publish",
    "subscribe",
    "sadd",
    "pttl",
    "pexpireat",
    "smembers",
    "eval",
    "cluster|slots",
  ],
} as const;

// What the store calls, whichever of @redis/client's three clients (createClient,
// createSentinel, createCluster) runs them: each key command names one key, so a Cluster routes
// it to the key's slot (no CROSSSLOT error can arise) and Sentinel to the current master.
interface Commands {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options: object): Promise<string | null>;
  del(key: string): Promise<number>;
  publish(channel: string, message: string): Promise<number>;
  sAdd(key: string, member: string): Promise<number>;
  pTTL(key: string): Promise<number>;
  pExpireAt(key: string, at: number): Promise<number>;
  sMembers(key: string): Promise<string[]>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  on(event: "error", listener: (error: Error) => void): unknown;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): unknown;
  readonly isReady: boolean;
}

// How long a store operation may wait for Redis. @redis/client's command timeout (5 s by
// default) covers only the wait to be written: once a command is on the socket its timer is
// removed (6.3.1 lib/client/commands-queue.js, where a command is sent), so a Redis that
// accepts connections but stops answering (paused, swapping, a half-open connection) would
// hold the request forever. Past this the request gets a 503 Status, and a late reply is dropped.
const operationDeadlineMs = 5_000;

// How long close() lets commands already sent get their replies before it drops the
// connections: @redis/client's graceful close() waits for every reply, which a node that
// stopped answering never sends (lib/client/index.js close(); lib/cluster/cluster-slots.js
// itself destroys removed nodes because "close() can hang if the server is not responding").
// A stuck close kept `serve` from exiting on SIGTERM.
const closeGraceMs = 2_000;

/** Settles with `promise`, or rejects after `ms` with "no reply within" — whichever is first. */
function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no reply within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

// Node's codes for a certificate that does not verify (tls.TLSSocket's authorizationError and
// checkServerIdentity's ERR_TLS_CERT_ALTNAME_INVALID), and Redis's refusal of the credentials:
// retrying cannot fix either.
const permanentCodes = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** Why a connection can never succeed as configured, in words; undefined if retrying may help. */
export function permanentProblem(error: Error): string | undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code && permanentCodes.has(code)) {
    return `the server's TLS certificate is not trusted (${code}: ${error.message}); --session-redis-ca-file must name the CA that signed it, for the host name or IP address connected to`;
  }
  if (/^WRONGPASS|^NOAUTH|^NOPERM/.test(error.message)) return `Redis refused the credentials: ${error.message}`;
  return undefined;
}

// Fail commands at once while disconnected instead of queueing them: a request must get a
// clear 503, not hang until Redis returns. Reconnect with backoff, capped at 5 s, except before
// the store was ever ready when the cause is permanent (see permanentProblem): then connect()
// rejects, so `serve` stops with the reason instead of retrying forever at start-up
// (@redis/client 6.3.1 lib/client/socket.d.ts: a strategy returning an Error ends the client).
function socketDefaults(state: { ready: boolean }) {
  return {
    connectTimeout: 5_000,
    reconnectStrategy: (retries: number, cause: Error) =>
      !state.ready && permanentProblem(cause) ? cause : Math.min(100 * 2 ** retries, 5_000),
  };
}

function tlsSocket(options: RedisStoreOptions, tls: boolean, state: { ready: boolean }): object {
  // Node's tls.connect verifies the certificate against `ca` and the host name (or IP) it
  // connects to (checkServerIdentity), so a server name is always verified.
  const defaults = socketDefaults(state);
  return tls ? { ...defaults, tls: true, ...(options.ca ? { ca: options.ca } : {}) } : defaults;
}

function credentials(username: string | undefined, password: string | undefined): object {
  return { ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

// Loaded when a Redis store is configured, not at start-up: the client library adds ~25 MiB to
// the resident memory of every gateway that imports it, and most run without Redis. The client
// alone (@redis/client), not the `redis` meta-package, which adds the RedisBloom, RedisJSON,
// RediSearch and RedisTimeSeries command modules (3 MB installed) that no store command uses.
// Returns the command client and the one that holds the subscription.
async function newClients(options: RedisStoreOptions, state: { ready: boolean }): Promise<[Commands, Commands]> {
  const { createClient, createSentinel, createCluster } = await import("@redis/client");
  const topology: RedisTopology =
    options.topology ?? (options.url ? { kind: "standalone", url: options.url } : missingTopology());
  const tls = options.tls ?? (topology.kind === "standalone" && topology.url.startsWith("rediss://"));
  const socket = tlsSocket(options, tls, state);
  const auth = credentials(options.username, options.password);
  switch (topology.kind) {
    case "standalone": {
      const client = createClient({ url: topology.url, ...auth, disableOfflineQueue: true, socket });
      return [client as unknown as Commands, client.duplicate() as unknown as Commands];
    }
    case "sentinel": {
      // @redis/client 6.3.1, lib/sentinel/types.d.ts: nodeClientOptions configure the master and
      // replica connections, sentinelClientOptions the sentinels' (e.g. an ACL user), so the
      // sentinels' credentials stay separate from the data nodes'. Its subscribe() runs on a
      // pub/sub proxy connection of its own, so one object serves both roles.
      const sentinel = createSentinel({
        name: topology.masterName,
        sentinelRootNodes: topology.sentinels.map((node) => ({ host: node.host, port: node.port })),
        nodeClientOptions: { ...auth, disableOfflineQueue: true, socket },
        sentinelClientOptions: { ...credentials(topology.sentinelUsername, topology.sentinelPassword), socket },
        // Re-read the topology every second; a command that fails over a topology change is
        // retried on the new master up to this many times.
        scanInterval: 1_000,
        maxCommandRediscovers: 16,
        // The sentinels' and nodes' own errors (e.g. NOAUTH from a sentinel) reach onError, so
        // the log says why "None of the sentinels are available".
        passthroughClientErrorEvents: true,
      });
      return [sentinel as unknown as Commands, sentinel as unknown as Commands];
    }
    case "cluster": {
      // lib/cluster/index.d.ts: rootNodes only discover the topology; every connection,
      // discovered ones included, is made from `defaults` (credentials, TLS). subscribe() runs
      // on a dedicated pub/sub node connection; PUBLISH reaches every node's subscribers.
      const cluster = createCluster({
        rootNodes: topology.nodes.map((node) => ({ socket: { ...socket, host: node.host, port: node.port } })),
        defaults: { ...auth, disableOfflineQueue: true, socket },
        // Re-read the slot map 1 s after a node starts reconnecting (and again each second while
        // it is), instead of the default 5 s (lib/cluster/cluster-reconnection-tracker.js), so
        // a promoted replica is found soon after the cluster promotes it.
        topologyRefreshOnReconnectionAttemptStrategy: 1_000,
      });
      return [cluster as unknown as Commands, cluster as unknown as Commands];
    }
  }
}

function missingTopology(): never {
  throw new SessionError("STORE_UNAVAILABLE", "the Redis session store needs a URL, sentinels or cluster nodes");
}

export class RedisStore implements SessionStore {
  readonly #client: Commands;
  readonly #subscriber: Commands;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #listeners: ((id: string) => void)[] = [];

  private constructor(client: Commands, subscriber: Commands, prefix: string) {
    this.#client = client;
    this.#subscriber = subscriber;
    this.#prefix = prefix;
    this.#channel = `${prefix}session-ended`;
  }

  /** Connects (retrying in the background if Redis is not up yet) and subscribes. */
  static async connect(options: RedisStoreOptions): Promise<RedisStore> {
    // The standalone client keeps retrying until Redis is up. @redis/client's Cluster client
    // instead rejects at once when none of its root nodes answers ("All the root nodes are
    // unavailable", lib/cluster/cluster-slots.js), and its Sentinel client after a while ("None
    // of the sentinels are available", lib/sentinel/index.js); a failed one is not reused. So
    // those are retried here with new clients, the same backoff, until Redis is up, unless the
    // cause is one retrying cannot fix or the caller aborts.
    for (let attempt = 0; ; attempt++) {
      try {
        return await RedisStore.#connectOnce(options);
      } catch (error) {
        const cause = (error as Error).cause as Error | undefined;
        const kind = options.topology?.kind;
        if (
          kind === undefined ||
          kind === "standalone" ||
          !cause ||
          permanentProblem(cause) ||
          options.signal?.aborted
        ) {
          throw error;
        }
        options.onError?.(error as Error);
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 5_000)));
      }
    }
  }

  static async #connectOnce(options: RedisStoreOptions): Promise<RedisStore> {
    const state = { ready: false };
    const [client, subscriber] = await newClients(options, state);
    const onError = (error: Error) => options.onError?.(error);
    client.on("error", onError);
    if (subscriber !== client) subscriber.on("error", onError);
    const store = new RedisStore(client, subscriber, options.prefix ?? "kog:");
    try {
      await (subscriber === client ? client.connect() : Promise.all([client.connect(), subscriber.connect()]));
      state.ready = true;
      // Inside the try: a Cluster client may resolve connect() with no node known yet and then
      // fail here (seen with @redis/client 6.3.1: a TypeError from cluster-slots.js's
      // #initiatePubSubClient), which is the same "not up yet" as a rejected connect().
      await subscriber.subscribe(store.#channel, (id: string) => {
        for (const listener of store.#listeners) listener(id);
      });
    } catch (error) {
      await store.close();
      const cause = (error as { originalError?: Error }).originalError ?? (error as Error);
      const problem = permanentProblem(cause) ?? cause.message;
      throw new SessionError("STORE_UNAVAILABLE", `cannot connect to the Redis session store: ${problem}`, { cause });
    }
    return store;
  }

  get notReadyReason(): string | undefined {
    return this.#client.isReady && this.#subscriber.isReady ? undefined : "the Redis session store is not connected";
  }

  async #run<T>(what: string, command: () => Promise<T>): Promise<T> {
    try {
      return await withDeadline(command(), operationDeadlineMs);
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
    const clients = this.#subscriber === this.#client ? [this.#client] : [this.#subscriber, this.#client];
    const closed = Promise.allSettled(clients.map((client) => client.close()));
    try {
      await withDeadline(closed, closeGraceMs);
    } catch {
      await Promise.allSettled(clients.map(async (client) => client.destroy()));
    }
  }
}
