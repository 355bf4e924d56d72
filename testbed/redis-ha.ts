// Redis in the two HA shapes the session store supports, from Debian's binaries on loopback:
// Sentinel (one master, one replica, three sentinels) and Cluster (three masters, three
// replicas). Failover timeouts are short (1 s) so tests that kill a master stay quick. Every
// process runs under the supervisor and ends with the test process.
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { TokenResponse } from "../src/session/issuer-client.ts";
import { waitFor } from "./http.ts";
import { freePort } from "./ports.ts";
import { type RedisServer, type RedisTls, startRedisProcess } from "./redis.ts";

export const redisSentinelPath = "/usr/bin/redis-sentinel";
export const redisCliPath = "/usr/bin/redis-cli";

const run = promisify(execFile);

/** redis-cli against one node; `tls` adds --tls with the CA. */
export async function redisCli(
  port: number,
  args: readonly string[],
  options: { tls?: RedisTls; dir?: string; user?: string; password?: string } = {},
): Promise<string> {
  const tlsArgs: string[] = [];
  if (options.tls && options.dir) {
    const ca = join(options.dir, "cli-ca.crt");
    writeFileSync(ca, options.tls.caPem);
    tlsArgs.push("--tls", "--cacert", ca);
  }
  const auth = options.user
    ? ["--user", options.user, "--pass", options.password ?? ""]
    : options.password
      ? ["--pass", options.password]
      : [];
  const { stdout } = await run(redisCliPath, ["-h", "127.0.0.1", "-p", String(port), ...tlsArgs, ...auth, ...args], {
    // The password goes by --pass (a test bed's throwaway); an inherited REDISCLI_AUTH must not.
    env: Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== "REDISCLI_AUTH")),
    timeout: 30_000,
  });
  return stdout.trim();
}

const noPersistence = ["--save", "", "--appendonly", "no"];

export interface RedisSentinelSet {
  readonly masterName: string;
  /** The data nodes, the first being the master at start. */
  readonly nodes: RedisServer[];
  readonly sentinels: RedisServer[];
  /** The port of the current master, as the sentinels see it. */
  masterPort(): Promise<number>;
  stop(): Promise<void>;
}

export async function startRedisSentinel(options: {
  dir: string;
  /** Extra redis-server arguments for the data nodes (e.g. ACL `--user` lines). */
  args?: readonly string[];
  /** Lines added to each sentinel's configuration (e.g. `sentinel auth-user mymaster …`). */
  sentinelConfig?: readonly string[];
  /**
   * A password the sentinels require of their clients (Sentinel's requirepass) and of each
   * other (sentinel sentinel-pass), apart from the data nodes' users.
   */
  sentinelPassword?: string;
  /** Three fixed sentinel ports, e.g. to start the set where a client already waits; default: free ones. */
  sentinelPorts?: readonly number[];
  tls?: RedisTls;
  log?: (line: string) => void;
}): Promise<RedisSentinelSet> {
  const masterName = "kog-sessions";
  const started: RedisServer[] = [];
  const stopAll = async () => {
    await Promise.allSettled(started.map((server) => server.stop()));
  };
  try {
    const log = options.log ? { log: options.log } : {};
    const tls = options.tls ? { tls: options.tls } : {};
    const masterPort = await freePort();
    const master = await startRedisProcess({
      name: "redis-server (master)",
      dir: join(options.dir, "master"),
      port: masterPort,
      args: [...noPersistence, ...(options.args ?? [])],
      ...tls,
      ...log,
    });
    started.push(master);
    const replica = await startRedisProcess({
      name: "redis-server (replica)",
      dir: join(options.dir, "replica"),
      port: await freePort(),
      args: [...noPersistence, "--replicaof", "127.0.0.1", String(masterPort), ...(options.args ?? [])],
      ...tls,
      ...log,
    });
    started.push(replica);
    const sentinels: RedisServer[] = [];
    for (const n of [1, 2, 3]) {
      const dir = join(options.dir, `sentinel-${n}`);
      await mkdir(dir, { recursive: true });
      // Sentinel rewrites its configuration file, so it must get one (not only arguments).
      // down-after 1 s and a 3 s failover timeout: a killed master is replaced in about 2 s.
      const conf = join(dir, "sentinel.conf");
      writeFileSync(
        conf,
        [
          `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${masterName} 1000`,
          `sentinel failover-timeout ${masterName} 3000`,
          `sentinel parallel-syncs ${masterName} 1`,
          ...(options.sentinelConfig ?? []).map((line) => line.replaceAll("$MASTER", masterName)),
          ...(options.sentinelPassword
            ? [`requirepass ${options.sentinelPassword}`, `sentinel sentinel-pass ${options.sentinelPassword}`]
            : []),
          "",
        ].join("\n"),
      );
      const sentinel = await startRedisProcess({
        binary: redisSentinelPath,
        name: `redis-sentinel ${n}`,
        dir,
        port: options.sentinelPorts?.[n - 1] ?? (await freePort()),
        args: [conf],
        ...tls,
        ...log,
      });
      started.push(sentinel);
      sentinels.push(sentinel);
    }
    const cli = { ...(options.tls ? { tls: options.tls, dir: options.dir } : {}) };
    const sentinelCli = { ...cli, ...(options.sentinelPassword ? { password: options.sentinelPassword } : {}) };
    const masterPortNow = async () => {
      const reply = await redisCli(
        (sentinels[0] as RedisServer).port,
        ["SENTINEL", "get-master-addr-by-name", masterName],
        sentinelCli,
      );
      return Number(reply.split("\n")[1]);
    };
    // Ready when the replica is in sync and every sentinel knows the replica and the others.
    await waitFor(
      "redis sentinel set",
      async () => {
        const info = await redisCli(replica.port, ["INFO", "replication"], cli);
        if (!info.includes("master_link_status:up")) return false;
        for (const sentinel of sentinels) {
          const master = await redisCli(sentinel.port, ["SENTINEL", "master", masterName], sentinelCli);
          const fields = master.split("\n");
          const field = (name: string) => fields[fields.indexOf(name) + 1];
          if (field("num-slaves") !== "1" || field("num-other-sentinels") !== "2") return false;
        }
        return true;
      },
      { timeoutMs: 30_000 },
    );
    return { masterName, nodes: [master, replica], sentinels, masterPort: masterPortNow, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

export interface RedisClusterSet {
  /** Three masters first (at start), then their replicas. */
  readonly nodes: RedisServer[];
  stop(): Promise<void>;
}

export async function startRedisCluster(options: {
  dir: string;
  /** Six fixed client ports, e.g. to start the cluster where a client already waits; default: free ones. */
  ports?: readonly number[];
  args?: readonly string[];
  tls?: RedisTls;
  log?: (line: string) => void;
}): Promise<RedisClusterSet> {
  const started: RedisServer[] = [];
  const stopAll = async () => {
    await Promise.allSettled(started.map((server) => server.stop()));
  };
  try {
    for (let n = 1; n <= 6; n++) {
      const dir = join(options.dir, `node-${n}`);
      // The bus port is chosen too (cluster-port, Redis 7.0), not port + 10000, which may be taken.
      started.push(
        await startRedisProcess({
          name: `redis-server (cluster node ${n})`,
          dir,
          port: options.ports?.[n - 1] ?? (await freePort()),
          args: [
            ...noPersistence,
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            join(dir, "nodes.conf"),
            "--cluster-node-timeout",
            "1000",
            "--cluster-port",
            String(await freePort()),
            ...(options.tls ? ["--tls-cluster", "yes"] : []),
            ...(options.args ?? []),
          ],
          ...(options.tls ? { tls: options.tls } : {}),
          ...(options.log ? { log: options.log } : {}),
        }),
      );
    }
    const cli = { ...(options.tls ? { tls: options.tls, dir: options.dir } : {}) };
    // redis-cli --cluster create assigns the slots to the first three and a replica to each.
    await redisCli(
      (started[0] as RedisServer).port,
      [
        "--cluster",
        "create",
        ...started.map((node) => `127.0.0.1:${node.port}`),
        "--cluster-replicas",
        "1",
        "--cluster-yes",
      ],
      cli,
    );
    await waitFor(
      "redis cluster",
      async () => {
        for (const node of started) {
          if (!(await redisCli(node.port, ["CLUSTER", "INFO"], cli)).includes("cluster_state:ok")) return false;
        }
        return true;
      },
      { timeoutMs: 30_000 },
    );
    return { nodes: started, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Waits until the replica's replication offset reaches the master's (asynchronous replication). */
export async function untilReplicated(
  masterPort: number,
  replicaPort: number,
  tls?: RedisTls,
  dir?: string,
): Promise<void> {
  const cli = tls && dir ? { tls, dir } : {};
  const read = async (port: number, field: string) => {
    const info = await redisCli(port, ["INFO", "replication"], cli);
    const match = new RegExp(`(?:^|\\n)${field}:(\\d+)`).exec(info);
    return match ? Number(match[1]) : Number.NaN;
  };
  await waitFor(
    "replication",
    async () => (await read(replicaPort, "slave_repl_offset")) >= (await read(masterPort, "master_repl_offset")),
    { timeoutMs: 10_000, intervalMs: 50 },
  );
}

/**
 * A token endpoint response whose id token carries `sub` (unsigned: the store and the sealed
 * record only decode it; verification is the authenticator's business, tested elsewhere).
 */
export function idTokenResponse(sub: string): TokenResponse {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const idToken = `${part({ alg: "none" })}.${part({ iss: "https://issuer.test", sub, iat: now, exp: now + 3600 })}.sig`;
  return { id_token: idToken, access_token: "at", token_type: "bearer" } as unknown as TokenResponse;
}

/**
 * A failover as the store tests measure it: SIGKILLs `master`, waits for `promoted` (the replica
 * is master now), then for `read` to give the session's subject back; the delays are from the kill.
 */
export async function killMasterAndRead(options: {
  readonly master: RedisServer & { readonly pid: number };
  readonly promotion: string;
  readonly promoted: () => Promise<boolean>;
  readonly read: () => Promise<string | undefined>;
  readonly timeoutMs?: number;
}): Promise<{ promotedMs: number; recoveredMs: number; served: string | undefined }> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const killedAt = Date.now();
  process.kill(options.master.pid, "SIGKILL");
  await waitFor(options.promotion, options.promoted, { timeoutMs, intervalMs: 100 });
  const promotedMs = Date.now() - killedAt;
  let served: string | undefined;
  await waitFor(
    "the session is readable again",
    async () => {
      served = await options.read();
      return served !== undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
  return { promotedMs, recoveredMs: Date.now() - killedAt, served };
}

/**
 * A start-up that may never end, watched: `settled()` is undefined while it is pending, then
 * "connected" or "rejected: <message>" (the "not up yet" tests assert it is still pending).
 */
export function watchConnect<T>(connecting: Promise<T>): {
  readonly connected: Promise<T>;
  settled(): string | undefined;
} {
  let settled: string | undefined;
  const connected = connecting.then(
    (value) => {
      settled = "connected";
      return value;
    },
    (error: Error) => {
      settled = `rejected: ${error.message}`;
      throw error;
    },
  );
  return { connected, settled: () => settled };
}
