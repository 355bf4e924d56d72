import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryStore } from "../../src/session/memory-store.ts";

describe("MemoryStore", () => {
  it("forgets records at their expiry and announces deletions", async () => {
    const store = new MemoryStore();
    const ended: string[] = [];
    store.onEnded((id) => ended.push(id));
    await store.put("a", "sealed-a", Date.now() + 60_000);
    await store.put("b", "sealed-b", Date.now() - 1);
    assert.equal(await store.get("a"), "sealed-a");
    assert.equal(await store.get("b"), undefined);
    assert.equal(await store.delete("a"), true);
    assert.equal(await store.get("a"), undefined);
    assert.deepEqual(ended, ["a"]);
    await store.close();
  });

  it("gives a lock to one holder; only that holder releases it; it lapses after its TTL", async () => {
    const store = new MemoryStore();
    const first = await store.tryLock("refresh:x", 50);
    assert.ok(first);
    assert.equal(await store.tryLock("refresh:x", 50), undefined);
    await new Promise((r) => setTimeout(r, 60));
    const second = await store.tryLock("refresh:x", 1_000);
    assert.ok(second, "the lapsed lock was taken again");
    await first(); // the lapsed holder must not release the new holder's lock
    assert.equal(await store.tryLock("refresh:x", 1_000), undefined);
    await second();
    assert.ok(await store.tryLock("refresh:x", 1_000));
    await store.close();
  });

  it("indexes sessions by key until they expire", async () => {
    const store = new MemoryStore();
    await store.index("sid:1", "a", Date.now() + 60_000);
    await store.index("sid:1", "b", Date.now() - 1);
    assert.deepEqual(await store.indexed("sid:1"), ["a"]);
    assert.deepEqual(await store.indexed("sid:2"), []);
    await store.close();
  });
});
