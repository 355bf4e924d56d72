import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Sealer } from "../../src/session/sealer.ts";

const secret = "a-cookie-secret-that-is-long-enough-0001";
const other = "another-cookie-secret-long-enough-00002";

describe("Sealer", () => {
  it("opens what it sealed, and nothing altered", async () => {
    const sealer = new Sealer([secret], "session-cookie");
    const sealed = await sealer.seal({ s: "id-1" }, Date.now() + 60_000);
    assert.equal((await sealer.open(sealed))?.s, "id-1");
    const flipped = `${sealed.slice(0, -3)}${sealed.endsWith("A") ? "B" : "A"}${sealed.slice(-2)}`;
    assert.equal(await sealer.open(flipped), undefined);
    assert.equal(await sealer.open(""), undefined);
    assert.equal(await sealer.open("not.a.jwe.at.all"), undefined);
  });

  it("refuses an expired seal", async () => {
    const sealer = new Sealer([secret], "session-cookie");
    assert.equal(await sealer.open(await sealer.seal({ s: "x" }, Date.now() - 5_000)), undefined);
  });

  it("refuses a remembered value once its seal expires", async () => {
    const sealer = new Sealer([secret], "session-cookie");
    const sealed = await sealer.seal({ s: "x" }, Date.now() + 1_000);
    assert.equal((await sealer.open(sealed))?.s, "x");
    assert.equal((await sealer.open(sealed))?.s, "x", "opened again from memory");
    await new Promise((r) => setTimeout(r, 2_100)); // exp has whole-second precision
    assert.equal(await sealer.open(sealed), undefined);
  });

  it("keys each purpose apart: a cookie does not open as a store record", async () => {
    const sealed = await new Sealer([secret], "session-cookie").seal({ s: "x" }, Date.now() + 60_000);
    assert.equal(await new Sealer([secret], "session-record").open(sealed), undefined);
  });

  it("opens with any configured secret and seals with the first (rotation)", async () => {
    const old = await new Sealer([other], "session-cookie").seal({ s: "old" }, Date.now() + 60_000);
    const rotated = new Sealer([secret, other], "session-cookie");
    assert.equal((await rotated.open(old))?.s, "old");
    const fresh = await rotated.seal({ s: "new" }, Date.now() + 60_000);
    assert.equal((await new Sealer([secret], "session-cookie").open(fresh))?.s, "new");
    assert.equal(await new Sealer([other], "session-cookie").open(fresh), undefined);
  });
});
