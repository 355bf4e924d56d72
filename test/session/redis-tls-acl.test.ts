// The Redis session store over TLS (rediss://, the test bed's CA, server name checked) as an ACL
// user allowed only the commands docs/sessions.md lists: every store operation works; a CA
// that did not sign the server's certificate is refused with an error that says so; a user
// missing one of the listed commands gets an error naming it.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SessionError } from "../../src/session/errors.ts";
import { RedisStore, redisAclCommands } from "../../src/session/redis-store.ts";
import { TestCA } from "../../testbed/ca.ts";
import { waitFor } from "../../testbed/http.ts";
import { type RedisServer, type RedisTls, redisAclUserArgs, startRedis } from "../../testbed/redis.ts";

const password = "store-password-0123456789";

const aclUser = (name: string, commands: readonly string[]) => redisAclUserArgs(name, password, commands);

describe("Redis session store with TLS and an ACL user", { timeout: 120_000 }, () => {
  let dir: string;
  let ca: TestCA;
  let tls: RedisTls;
  let redis: RedisServer;
  const stores: RedisStore[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "kog-redis-tls-"));
    ca = await TestCA.create();
    const serving = await ca.issueLoopbackServer("redis");
    tls = { ...serving, caPem: ca.certPem };
    const withoutEval = redisAclCommands.standalone.filter((command) => command !== "eval");
    redis = await startRedis({
      dir,
      tls,
      args: [...aclUser("kog", redisAclCommands.standalone), ...aclUser("kog-no-eval", withoutEval)],
    });
  });
  after(async () => {
    await Promise.allSettled(stores.map((store) => store.close()));
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function connect(username: string, caPem: string, onError?: (error: Error) => void) {
    const store = await RedisStore.connect({
      url: redis.url,
      ca: caPem,
      username,
      password,
      ...(onError ? { onError } : {}),
    });
    stores.push(store);
    return store;
  }

  it("runs every store operation over TLS as a user allowed only the documented commands", async () => {
    assert.match(redis.url, /^rediss:\/\//);
    const store = await connect("kog", ca.certPem);
    const other = await connect("kog", ca.certPem);
    const ended: string[] = [];
    other.onEnded((id) => ended.push(id));
    await store.put("s1", "sealed", Date.now() + 60_000);
    assert.equal(await other.get("s1"), "sealed");
    await store.index("sub:x", "s1", Date.now() + 60_000);
    assert.deepEqual(await other.indexed("sub:x"), ["s1"]);
    const release = await store.tryLock("refresh:s1", 10_000);
    assert.ok(release);
    assert.equal(await other.tryLock("refresh:s1", 10_000), undefined);
    await release();
    assert.ok(await other.tryLock("refresh:s1", 10_000), "released by its holder");
    assert.equal(await store.delete("s1"), true);
    await waitFor("the end announced", async () => ended.includes("s1"), { timeoutMs: 5_000, intervalMs: 50 });
    assert.equal(store.notReadyReason, undefined);
  });

  it("refuses at start-up a server whose certificate the configured CA did not sign, saying why, instead of retrying forever", async () => {
    const otherCa = await TestCA.create("another CA");
    await assert.rejects(connect("kog", otherCa.certPem), (error: unknown) => {
      assert.ok(error instanceof SessionError);
      assert.equal(error.code, "STORE_UNAVAILABLE");
      assert.match(
        error.message,
        /certificate is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN/,
      );
      assert.match(error.message, /--session-redis-ca-file/);
      return true;
    });
  });

  it("refuses at start-up a wrong password, saying Redis refused the credentials", async () => {
    await assert.rejects(
      RedisStore.connect({ url: redis.url, ca: ca.certPem, username: "kog", password: "wrong" }),
      (error: unknown) => {
        assert.ok(error instanceof SessionError);
        assert.match(error.message, /refused the credentials: WRONGPASS/);
        assert.doesNotMatch(error.message, /wrong/);
        return true;
      },
    );
  });

  it("names the command an ACL user lacks: a user without EVAL cannot release a lock", async () => {
    const store = await connect("kog-no-eval", ca.certPem);
    const release = await store.tryLock("refresh:s2", 10_000);
    assert.ok(release, "SET NX is allowed");
    await assert.rejects(release(), (error: unknown) => {
      assert.ok(error instanceof SessionError);
      assert.equal(error.code, "STORE_UNAVAILABLE");
      assert.match(error.message, /NOPERM/);
      assert.match(error.message, /eval/i);
      return true;
    });
  });
});
