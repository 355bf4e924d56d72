// The Redis session store on a Sentinel-watched master (Debian's redis-server and
// redis-sentinel: one master, one replica, three sentinels): two gateway replicas' stores share
// it; the master holding a session is SIGKILLed, the sentinels promote the replica, and the
// session is still there for both replicas, its end still announced across them.
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
import { type RedisTls, redisAclUserArgs } from "../../testbed/redis.ts";
import {
  idTokenResponse,
  killMasterAndRead,
  type RedisSentinelSet,
  redisCli,
  startRedisSentinel,
  untilReplicated,
  watchConnect,
} from "../../testbed/redis-ha.ts";

const waitUntil = (what: string, probe: () => Promise<boolean>, timeoutMs: number) =>
  waitFor(what, probe, { timeoutMs, intervalMs: 100 });

const secret = "a".repeat(43);

const password = "store-password-0123456789";
// The sentinels' own password, distinct from the data nodes' user: the store must send each
// where it belongs (sentinelClientOptions vs nodeClientOptions).
const sentinelPassword = "sentinel-password-9876543210";

for (const variant of ["plain", "TLS, an ACL user and password-protected sentinels"] as const) {
  describe(`Redis session store on Sentinel (${variant})`, { timeout: 120_000 }, () => {
    let dir: string;
    let set: RedisSentinelSet;
    let tls: RedisTls | undefined;
    const stores: RedisStore[] = [];

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "kog-sentinel-"));
      if (variant !== "plain") {
        // One certificate for every node and sentinel: all listen on 127.0.0.1, which it names.
        const ca = await TestCA.create();
        tls = { ...(await ca.issueLoopbackServer("redis")), caPem: ca.certPem };
      }
      set = await startRedisSentinel({
        dir,
        ...(tls ? { tls, sentinelPassword } : {}),
        // The default user stays open for replication and the sentinels; the store logs in as
        // "kog", allowed only the documented commands.
        ...(tls
          ? {
              args: redisAclUserArgs("kog", password, redisAclCommands.standalone),
            }
          : {}),
      });
    });
    after(async () => {
      await Promise.allSettled(stores.map((store) => store.close()));
      await set?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it("keeps a session through a master's SIGKILL: the replica is promoted and both gateway replicas still read it", async () => {
      const connect = async () => {
        const store = await RedisStore.connect({
          topology: {
            kind: "sentinel",
            masterName: set.masterName,
            sentinels: set.sentinels.map((s) => ({ host: "127.0.0.1", port: s.port })),
            ...(tls ? { sentinelPassword } : {}),
          },
          ...(tls ? { tls: true, ca: tls.caPem, username: "kog", password } : {}),
        });
        stores.push(store);
        return store;
      };
      const cli = tls ? { tls, dir } : {};
      const [a, b] = [await connect(), await connect()];
      const [sessionsA, sessionsB] = [new Sessions(a, [secret], 3_600_000), new Sessions(b, [secret], 3_600_000)];
      const record = await sessionsA.create(idTokenResponse("jane"));
      assert.equal((await sessionsB.get(record.id))?.subject, "jane", "replica B reads what replica A wrote");

      const [master, replica] = set.nodes as [(typeof set.nodes)[0], (typeof set.nodes)[0]];
      assert.equal(await set.masterPort(), master.port);
      // Replication is asynchronous: kill only once the replica has the session.
      await untilReplicated(master.port, replica.port, tls, dir);
      const { promotedMs, recoveredMs, served } = await killMasterAndRead({
        master,
        promotion: "the sentinels promote the replica",
        promoted: async () => (await set.masterPort()) === replica.port,
        read: async () => (await sessionsB.get(record.id).catch(() => undefined))?.subject,
      });
      assert.equal(served, "jane", "the same session id resolves to the same user after failover: no new login");
      assert.equal((await sessionsA.get(record.id))?.idToken, record.idToken);
      assert.equal(await redisCli(replica.port, ["ROLE"], cli).then((r) => r.split("\n")[0]), "master");
      console.log(
        `sentinel failover (${variant}): replica promoted after ${promotedMs} ms, session served after ${recoveredMs} ms`,
      );

      // Writes go to the new master, and an end on one replica reaches the other's listeners.
      const ended: string[] = [];
      b.onEnded((id) => ended.push(id));
      const second = await sessionsA.create(idTokenResponse("joe"));
      assert.equal((await sessionsB.get(second.id))?.subject, "joe");
      await waitUntil(
        "the end is announced to replica B after failover",
        async () => {
          await sessionsA.end(second.id).catch(() => false);
          return ended.includes(second.id);
        },
        20_000,
      );
      assert.equal(await sessionsB.get(second.id), undefined);
    });
  });
}

describe("Redis session store on Sentinel that is not up yet", { timeout: 120_000 }, () => {
  it("keeps trying at start-up (it does not fail because no sentinel answers) and connects once the sentinels are up", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kog-sentinel-late-"));
    const sentinelPorts = await Promise.all([1, 2, 3].map(() => freePort()));
    const abort = new AbortController();
    const { connected: connecting, settled } = watchConnect(
      RedisStore.connect({
        topology: {
          kind: "sentinel",
          masterName: "kog-sessions",
          sentinels: sentinelPorts.map((port) => ({ host: "127.0.0.1", port })),
        },
        onError: () => {},
        signal: abort.signal,
      }),
    );
    let set: RedisSentinelSet | undefined;
    let store: RedisStore | undefined;
    try {
      // Longer than the Sentinel client takes to give up on its own ("None of the sentinels are
      // available"), which RedisStore.connect retries.
      await new Promise((resolve) => setTimeout(resolve, 20_000));
      assert.equal(settled(), undefined, "still trying, not failed");
      set = await startRedisSentinel({ dir, sentinelPorts });
      store = await connecting;
      await store.put("late", "sealed", Date.now() + 60_000);
      assert.equal(await store.get("late"), "sealed");
    } finally {
      abort.abort();
      await connecting.catch(() => undefined);
      await store?.close();
      await set?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
