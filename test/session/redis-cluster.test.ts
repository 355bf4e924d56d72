// The Redis session store on a Redis Cluster (Debian's redis-server, three masters and three
// replicas, cluster-node-timeout 1 s): two gateway replicas' stores share it; the master owning
// the session key's slot is SIGKILLed, its replica takes the slot over, and the session is
// still there for both gateway replicas; a session's end still reaches the other's listeners.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { RedisStore, redisAclCommands } from "../../src/session/redis-store.ts";
import { Sessions } from "../../src/session/sessions.ts";
import { TestCA } from "../../testbed/ca.ts";
import { waitFor } from "../../testbed/http.ts";
import { freePort } from "../../testbed/ports.ts";
import { type RedisServer, type RedisTls, redisAclUserArgs } from "../../testbed/redis.ts";
import {
  idTokenResponse,
  killMasterAndRead,
  type RedisClusterSet,
  redisCli,
  startRedisCluster,
  untilReplicated,
  watchConnect,
} from "../../testbed/redis-ha.ts";

const secret = "b".repeat(43);
const waitUntil = (what: string, probe: () => Promise<boolean>, timeoutMs: number) =>
  waitFor(what, probe, { timeoutMs, intervalMs: 100 });

const password = "store-password-0123456789";

for (const variant of ["plain", "TLS and an ACL user"] as const) {
  describe(`Redis session store on a Cluster (${variant})`, { timeout: 120_000 }, () => {
    let dir: string;
    let cluster: RedisClusterSet;
    const stores: RedisStore[] = [];
    let tls: RedisTls | undefined;
    let cli: { tls?: RedisTls; dir?: string } = {};

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "kog-cluster-"));
      if (variant !== "plain") {
        const ca = await TestCA.create();
        // The nodes' bus connections need a client certificate (see RedisTls.client).
        tls = {
          ...(await ca.issueLoopbackServer("redis")),
          caPem: ca.certPem,
          client: await ca.issue({ commonName: "redis-node", usage: "client" }),
        };
      }
      cli = tls ? { tls, dir } : {};
      cluster = await startRedisCluster({
        dir,
        ...(tls ? { tls } : {}),
        ...(tls
          ? {
              args: redisAclUserArgs("kog", password, redisAclCommands.cluster),
            }
          : {}),
      });
    });
    after(async () => {
      await Promise.allSettled(stores.map((store) => store.close()));
      await cluster?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    /** The master serving `key`'s slot and its replica, as the cluster says now. */
    async function slotOwner(key: string): Promise<{ master: RedisServer; replica: RedisServer }> {
      const first = cluster.nodes[0] as RedisServer;
      const slot = await redisCli(first.port, ["CLUSTER", "KEYSLOT", key], cli);
      for (const node of cluster.nodes) {
        if ((await redisCli(node.port, ["ROLE"], cli)).split("\n")[0] !== "master") continue;
        if (Number(await redisCli(node.port, ["CLUSTER", "COUNTKEYSINSLOT", slot], cli)) === 0) continue;
        const id = await redisCli(node.port, ["CLUSTER", "MYID"], cli);
        const line = await redisCli(node.port, ["CLUSTER", "REPLICAS", id], cli);
        const port = Number(/127\.0\.0\.1:(\d+)@/.exec(line)?.[1]);
        const replica = cluster.nodes.find((n) => n.port === port);
        assert.ok(replica, `a replica of the master on ${node.port}: ${line}`);
        return { master: node, replica };
      }
      throw new Error(`no master holds slot ${slot}`);
    }

    it("keeps a session through the SIGKILL of the master owning its slot: the replica takes over, both gateway replicas still read it", async () => {
      const connect = async () => {
        const store = await RedisStore.connect({
          // One node is enough to discover the rest; give two, as a user would.
          topology: {
            kind: "cluster",
            nodes: cluster.nodes.slice(0, 2).map((node) => ({ host: "127.0.0.1", port: node.port })),
          },
          ...(tls ? { tls: true, ca: tls.caPem, username: "kog", password } : {}),
        });
        stores.push(store);
        return store;
      };
      const [a, b] = [await connect(), await connect()];
      const [sessionsA, sessionsB] = [new Sessions(a, [secret], 3_600_000), new Sessions(b, [secret], 3_600_000)];
      const record = await sessionsA.create(idTokenResponse("jane"));
      assert.equal((await sessionsB.get(record.id))?.subject, "jane", "replica B reads what replica A wrote");

      const { master, replica } = await slotOwner(`kog:session:${record.id}`);
      await untilReplicated(master.port, replica.port, tls, dir);
      const { promotedMs, recoveredMs, served } = await killMasterAndRead({
        master,
        promotion: "the replica takes the slot over",
        promoted: async () => (await redisCli(replica.port, ["ROLE"], cli)).split("\n")[0] === "master",
        read: async () => (await sessionsB.get(record.id).catch(() => undefined))?.subject,
      });
      assert.equal(served, "jane", "the same session id resolves to the same user after failover: no new login");
      await waitUntil(
        "replica A reads it too",
        async () => (await sessionsA.get(record.id).catch(() => undefined))?.idToken === record.idToken,
        20_000,
      );
      console.log(
        `cluster failover (${variant}): replica promoted after ${promotedMs} ms, session served after ${recoveredMs} ms`,
      );

      // Every store operation still works, the announcement crosses replicas.
      const ended: string[] = [];
      b.onEnded((id) => ended.push(id));
      let second: Awaited<ReturnType<Sessions["create"]>> | undefined;
      await waitUntil(
        "a new session is written",
        async () => {
          second = await sessionsA.create(idTokenResponse("joe")).catch(() => undefined);
          return second !== undefined;
        },
        20_000,
      );
      const id = (second as NonNullable<typeof second>).id;
      assert.equal((await sessionsB.get(id))?.subject, "joe");
      await waitUntil(
        "the end is announced to replica B",
        async () => {
          await sessionsA.end(id).catch(() => false);
          return ended.includes(id);
        },
        20_000,
      );
      assert.equal(await sessionsB.get(id), undefined);
    });
  });
}

describe("Redis session store on a Cluster that is not up yet", { timeout: 120_000 }, () => {
  it("keeps trying at start-up (it does not fail because no node answers) and connects once the cluster is up", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kog-cluster-late-"));
    const ports = await Promise.all([1, 2, 3, 4, 5, 6].map(() => freePort()));
    const errors: Error[] = [];
    const abort = new AbortController();
    const { connected: connecting, settled } = watchConnect(
      RedisStore.connect({
        topology: { kind: "cluster", nodes: [{ host: "127.0.0.1", port: ports[0] as number }] },
        onError: (error) => errors.push(error),
        signal: abort.signal,
      }),
    );
    let cluster: RedisClusterSet | undefined;
    let store: RedisStore | undefined;
    try {
      await waitFor(
        "failed attempts",
        async () => errors.filter((e) => /^cannot connect/.test(e.message)).length >= 2,
        { timeoutMs: 10_000, intervalMs: 50 },
      );
      assert.equal(settled(), undefined, "still trying, not failed");
      assert.ok(
        errors.some((error) => /^cannot connect to the Redis session store: /.test(error.message)),
        errors.map((error) => error.message).join("\n"),
      );
      cluster = await startRedisCluster({ dir, ports });
      store = await connecting;
      await store.put("late", "sealed", Date.now() + 60_000);
      assert.equal(await store.get("late"), "sealed");
    } finally {
      abort.abort();
      await connecting.catch(() => undefined);
      await store?.close();
      await cluster?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
