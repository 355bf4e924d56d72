// The audit log file on a real filesystem, rotated as kube-apiserver rotates its own
// (--audit-log-maxsize, --audit-log-maxbackup, --audit-log-maxage through lumberjack): backups
// named <name>-<UTC 2006-01-02T15-04-05.000><ext> beside the file, the oldest pruned. The cases of
// test/observability/audit-log.test.ts, on the writer the audit backends use.
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { RotatingFile } from "../../../src/audit/backends/rotating-file.ts";

const megabyte = 1024 * 1024;
const backupName = /^audit-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}\.log$/;

const line = (i: number) =>
  `${JSON.stringify({ kind: "Event", auditID: `id-${i}`, requestURI: `/api/v1/pods/${"x".repeat(200)}` })}\n`;

/** Writes lines until `bytes` have been written; returns how many. */
function flood(file: RotatingFile, bytes: number): number {
  const count = Math.ceil(bytes / Buffer.byteLength(line(0)));
  for (let i = 0; i < count; i++) file.write(line(i));
  return count;
}

const sizes = async (dir: string) => {
  const out = new Map<string, number>();
  for (const name of await readdir(dir)) out.set(name, (await stat(join(dir, name))).size);
  return out;
};

describe("RotatingFile (kube-apiserver's --audit-log-path with lumberjack rotation)", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "kog-audit-file-"));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("creates the folder 0700 and the file 0600, as ensureLogFile does", async () => {
    const dir = join(root, "new", "deeper");
    const file = new RotatingFile(join(dir, "audit.log"), { maxSizeMb: 1, maxBackups: 1, maxAgeDays: 0 });
    file.close();
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, "audit.log"))).mode & 0o777, 0o600);
  });

  it("appends to a file that exists, and counts its size towards maxsize", async () => {
    const dir = join(root, "append");
    const path = join(dir, "audit.log");
    const first = new RotatingFile(path, { maxSizeMb: 1, maxBackups: 10, maxAgeDays: 0 });
    flood(first, 0.8 * megabyte);
    first.close();
    const second = new RotatingFile(path, { maxSizeMb: 1, maxBackups: 10, maxAgeDays: 0 });
    flood(second, 0.3 * megabyte);
    second.close();
    const backups = (await readdir(dir)).filter((n) => backupName.test(n));
    assert.equal(backups.length, 1, "the second writer rotated on reaching 1 MB in total");
  });

  it("writes past --audit-log-maxsize rotate to a lumberjack-named backup; every line stays whole", async () => {
    const dir = join(root, "rotate");
    const file = new RotatingFile(join(dir, "audit.log"), { maxSizeMb: 1, maxBackups: 10, maxAgeDays: 0 });
    const written = flood(file, 1.5 * megabyte);
    file.close();
    const files = await sizes(dir);
    const backups = [...files.keys()].filter((n) => backupName.test(n));
    assert.equal(backups.length, 1, [...files.keys()].join(", "));
    assert.ok((files.get(backups[0] ?? "") ?? 0) <= megabyte, "the backup is at most --audit-log-maxsize");
    let lines = 0;
    for (const name of files.keys()) {
      for (const text of (await readFile(join(dir, name), "utf8")).split("\n").filter(Boolean)) {
        assert.equal((JSON.parse(text) as { kind: string }).kind, "Event");
        lines++;
      }
    }
    assert.equal(lines, written, "no line lost across the rotation");
    // The backup's timestamp is UTC now, as lumberjack names it (LocalTime false).
    const stamp = (backups[0] ?? "").slice("audit-".length, -".log".length);
    const [date, time] = stamp.split("T");
    const when = Date.parse(`${date}T${(time ?? "").replace(/-/g, ":").replace(/:(\d{3})$/, ".$1")}Z`);
    assert.ok(Math.abs(Date.now() - when) < 60_000, stamp);
  });

  it("a flood keeps disk use bounded: --audit-log-maxbackup backups, the oldest pruned", async () => {
    const dir = join(root, "flood");
    const file = new RotatingFile(join(dir, "audit.log"), { maxSizeMb: 1, maxBackups: 2, maxAgeDays: 0 });
    flood(file, 6 * megabyte);
    file.close();
    const files = await sizes(dir);
    const backups = [...files.keys()].filter((n) => backupName.test(n)).sort();
    assert.equal(backups.length, 2, [...files.keys()].join(", "));
    assert.deepEqual([...files.keys()].sort(), ["audit.log", ...backups].sort());
    const total = [...files.values()].reduce((a, b) => a + b, 0);
    assert.ok(total <= 3 * megabyte, `disk use ${total} bytes for 6 MB of events`);
  });

  it("prunes backups older than --audit-log-maxage days by the time in their name, and nothing else", async () => {
    const dir = join(root, "age");
    const path = join(dir, "audit.log");
    new RotatingFile(path, { maxSizeMb: 1, maxBackups: 0, maxAgeDays: 0 }).close();
    const old = "audit-2020-01-01T00-00-00.000.log";
    const recent = `audit-${new Date(Date.now() - 86_400_000).toISOString().replace(/:/g, "-").replace("Z", "")}.log`;
    for (const name of [old, recent, "audit-notes.log", "other-2020-01-01T00-00-00.000.log"]) {
      await writeFile(join(dir, name), "{}\n");
    }
    const file = new RotatingFile(path, { maxSizeMb: 1, maxBackups: 0, maxAgeDays: 7 });
    flood(file, 1.2 * megabyte);
    file.close();
    const names = await readdir(dir);
    assert.ok(!names.includes(old), "a backup older than 7 days was removed");
    assert.ok(names.includes(recent), "a backup of yesterday was kept");
    assert.ok(names.includes("audit-notes.log") && names.includes("other-2020-01-01T00-00-00.000.log"));
  });

  it("--audit-log-maxsize=0 never rotates nor prunes (kube-apiserver: a plain appended file)", async () => {
    const dir = join(root, "off");
    const path = join(dir, "audit.log");
    new RotatingFile(path, { maxSizeMb: 0, maxBackups: 1, maxAgeDays: 1 }).close();
    await writeFile(join(dir, "audit-2020-01-01T00-00-00.000.log"), "{}\n");
    const file = new RotatingFile(path, { maxSizeMb: 0, maxBackups: 1, maxAgeDays: 1 });
    flood(file, 1.2 * megabyte);
    file.close();
    assert.deepEqual((await readdir(dir)).sort(), ["audit-2020-01-01T00-00-00.000.log", "audit.log"]);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  });

  it("a write the disk refuses throws (the log backend turns it into false)", () => {
    const file = new RotatingFile("/dev/full", { maxSizeMb: 0, maxBackups: 0, maxAgeDays: 0 });
    assert.throws(() => file.write(line(0)), /ENOSPC/);
    file.close();
  });
});
