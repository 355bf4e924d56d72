// The Redis session store against a real redis-server that stops answering: the process is
// paused (SIGSTOP), so its connections stay open and commands already sent get no reply, as
// with a Redis that swaps, a node mid-failover, or a half-open connection.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { SessionError } from "../../src/session/errors.ts";
import { RedisStore } from "../../src/session/redis-store.ts";
import { type RedisServer, startRedis } from "../../testbed/redis.ts";
import { redisCli, startRedisCluster } from "../../testbed/redis-ha.ts";

/**
 * This process's open TCP sockets to 127.0.0.1:`port`, in any state (Linux /proc): a graceful
 * close half-closes a socket and keeps it until the server answers, destroy() lets it go.
 */
function socketsTo(port: number): number {
  const sockets = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
      if (inode) sockets.add(inode);
    } catch {}
  }
  const remote = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  return readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[2] === remote && sockets.has(f[9] ?? "")).length;
}

describe("Redis session store when Redis stops answering", { timeout: 120_000 }, () => {
  let dir: string;
  let redis: RedisServer;
  let paused = false;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "kog-redis-store-"));
    redis = await startRedis({ dir });
  });
  afterEach(() => resume());
  after(async () => {
    resume();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function pause() {
    process.kill(redis.pid, "SIGSTOP");
    paused = true;
  }
  function resume() {
    if (paused) process.kill(redis.pid, "SIGCONT");
    paused = false;
  }

  it("regression: close() returns within its grace while a reply is awaited (it waited for Redis, so serve's SIGTERM and a test's after hook hung)", async () => {
    const store = await RedisStore.connect({ url: redis.url });
    await store.put("close-test", "sealed", Date.now() + 60_000);
    pause();
    const pending = store.get("close-test").then(
      () => "answered",
      (error: unknown) => error,
    );
    const started = Date.now();
    await store.close();
    const closeMs = Date.now() - started;
    assert.ok(closeMs >= 1_500 && closeMs < 4_000, `close() took ${closeMs} ms (grace 2 s)`);
    // The command that was waiting is failed, not left pending.
    const outcome = await pending;
    assert.ok(outcome instanceof SessionError, `the pending GET ended with ${String(outcome)}`);
    assert.equal(outcome.code, "STORE_UNAVAILABLE");
  });

  it("a command Redis does not answer fails with STORE_UNAVAILABLE after 5 s (it waited until Redis answered)", async () => {
    const store = await RedisStore.connect({ url: redis.url });
    try {
      await store.put("deadline-test", "sealed", Date.now() + 60_000);
      pause();
      const started = Date.now();
      await assert.rejects(store.get("deadline-test"), (error: unknown) => {
        assert.ok(error instanceof SessionError);
        assert.equal(error.code, "STORE_UNAVAILABLE");
        assert.match(error.message, /Redis GET: no reply within 5 s/);
        return true;
      });
      const waitedMs = Date.now() - started;
      assert.ok(waitedMs >= 4_900 && waitedMs < 7_000, `failed after ${waitedMs} ms`);
      // Once Redis answers again the store works: the late reply was dropped, not misread.
      resume();
      await store.put("deadline-test-2", "other", Date.now() + 60_000);
      assert.equal(await store.get("deadline-test-2"), "other");
      assert.equal(await store.get("deadline-test"), "sealed");
    } finally {
      resume();
      await store.close();
    }
  });

  it("close() of a store whose Redis answers is prompt (the grace is only spent waiting)", async () => {
    const store = await RedisStore.connect({ url: redis.url });
    await store.put("prompt-close", "sealed", Date.now() + 60_000);
    const started = Date.now();
    await store.close();
    assert.ok(Date.now() - started < 500, `close() took ${Date.now() - started} ms`);
  });

  it("a Cluster store's close() returns within its grace and leaves no socket to a node that stopped answering", async () => {
    const cluster = await startRedisCluster({ dir: join(dir, "cluster") });
    let pausedPid: number | undefined;
    let store: RedisStore | undefined;
    try {
      store = await RedisStore.connect({
        topology: {
          kind: "cluster",
          nodes: cluster.nodes.slice(0, 2).map((n) => ({ host: "127.0.0.1", port: n.port })),
        },
      });
      await store.put("cluster-close", "sealed", Date.now() + 60_000);
      // The master holding the record, and this process's connections to it.
      let owner: RedisServer | undefined;
      for (const node of cluster.nodes) {
        if ((await redisCli(node.port, ["--scan", "--pattern", "kog:session:*"])) !== "") owner = node;
      }
      assert.ok(owner, "a node holds the session record");
      assert.ok(socketsTo(owner.port) > 0, "the store is connected to the record's master");
      process.kill(owner.pid, "SIGSTOP");
      pausedPid = owner.pid;
      const pending = store.get("cluster-close").catch((error: unknown) => error);
      const started = Date.now();
      await store.close();
      const closeMs = Date.now() - started;
      assert.ok(closeMs < 4_000, `close() took ${closeMs} ms (grace 2 s)`);
      // Still paused: the sockets are gone, not half-closed and waiting for its replies.
      assert.equal(socketsTo(owner.port), 0, "a socket to the paused node is still open");
      process.kill(owner.pid, "SIGCONT");
      pausedPid = undefined;
      assert.ok((await pending) instanceof SessionError);
    } finally {
      if (pausedPid !== undefined) process.kill(pausedPid, "SIGCONT");
      // A store left open keeps reconnecting to the stopped cluster, and the file would never end.
      await store?.close();
      await cluster.stop();
    }
  });
});
