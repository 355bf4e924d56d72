// pkg/audit/union.go over two real log backends: both get every event, the call fails when one
// of them did, and one backend is not wrapped.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { LogBackend } from "../../../src/audit/backends/log.ts";
import { RotatingFile } from "../../../src/audit/backends/rotating-file.ts";
import { union } from "../../../src/audit/backends/union.ts";
import { event, recordedLog } from "./fixtures.ts";

const noRotation = { maxSizeMb: 0, maxBackups: 0, maxAgeDays: 0 };

describe("union backend", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "kog-audit-union-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("every backend gets every event; false when any failed, the others still written", async () => {
    const { logger } = recordedLog();
    const json = new LogBackend(new RotatingFile(join(dir, "a.log"), noRotation), "json", logger);
    const legacy = new LogBackend(new RotatingFile(join(dir, "b.log"), noRotation), "legacy", logger);
    const full = new LogBackend(new RotatingFile("/dev/full", noRotation), "json", logger);
    assert.equal(union(json), json, "one backend is returned as it is");
    const both = union(json, legacy);
    assert.equal(String(both), "union[log,log]");
    assert.equal(both.processEvents(event(1), event(2)), true);
    const three = union(full, json, legacy);
    assert.equal(three.processEvents(event(3)), false);
    await three.shutdown();
    assert.equal((await readFile(join(dir, "a.log"), "utf8")).trim().split("\n").length, 3);
    assert.equal((await readFile(join(dir, "b.log"), "utf8")).trim().split("\n").length, 3);
  });
});
