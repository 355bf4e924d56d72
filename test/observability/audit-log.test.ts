// The refusal audit log on a real filesystem, rotated as kube-apiserver rotates its own
// (--audit-log-maxsize, --audit-log-maxbackup, --audit-log-maxage through lumberjack): backups
// named <name>-<UTC 2006-01-02T15-04-05.000><ext> beside the file, the oldest pruned.
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { AuditLog, type AuditRecord } from "../../src/observability/audit-log.ts";

const megabyte = 1024 * 1024;
const backupName = /^audit-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}\.log$/;

const refusal = (i: number): AuditRecord => ({
  user: `user-${i}@example.com`,
  groups: ["oidc:developers", "oidc:viewers"],
  verb: "get",
  path: `/api/v1/namespaces/default/pods/pod-${i}/proxy/${"x".repeat(64)}`,
  status: 401,
  latencyMs: 1,
  reason: "EXPIRED",
  sourceIp: "192.0.2.7",
});

/** Records until `bytes` have been written (each line is about 300 bytes). */
function flood(log: AuditLog, bytes: number): number {
  const line = Buffer.byteLength(`${JSON.stringify({ time: new Date().toISOString(), ...refusal(0) })}\n`);
  const count = Math.ceil(bytes / line);
  for (let i = 0; i < count; i++) log.record(refusal(i));
  return count;
}

const sizes = async (dir: string) => {
  const out = new Map<string, number>();
  for (const name of await readdir(dir)) out.set(name, (await stat(join(dir, name))).size);
  return out;
};

describe("audit log rotation (kube-apiserver's --audit-log-max* flags)", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "kog-audit-"));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("writes past --audit-log-maxsize rotate to a lumberjack-named backup; every line stays whole", async () => {
    const dir = join(root, "rotate");
    const path = join(dir, "audit.log");
    const log = new AuditLog(path, { maxSizeMb: 1, maxBackups: 10, maxAgeDays: 0 });
    const written = flood(log, 1.5 * megabyte);
    await log.close();
    const files = await sizes(dir);
    const backups = [...files.keys()].filter((n) => backupName.test(n));
    assert.equal(backups.length, 1, [...files.keys()].join(", "));
    assert.ok((files.get(backups[0] ?? "") ?? 0) <= megabyte, "the backup is at most --audit-log-maxsize");
    assert.ok((files.get("audit.log") ?? 0) > 0);
    let lines = 0;
    for (const name of files.keys()) {
      for (const line of (await readFile(join(dir, name), "utf8")).split("\n").filter(Boolean)) {
        assert.equal((JSON.parse(line) as { reason: string }).reason, "EXPIRED");
        lines++;
      }
    }
    assert.equal(lines, written, "no record lost across the rotation");
    // The backup's timestamp is UTC now, as lumberjack names it (LocalTime false).
    const stamp = (backups[0] ?? "").slice("audit-".length, -".log".length);
    const [date, time] = stamp.split("T");
    const when = Date.parse(`${date}T${(time ?? "").replace(/-/g, ":").replace(/:(\d{3})$/, ".$1")}Z`);
    assert.ok(Math.abs(Date.now() - when) < 60_000, stamp);
  });

  it("a flood of refusals keeps disk use bounded: --audit-log-maxbackup backups, the oldest pruned", async () => {
    const dir = join(root, "flood");
    const path = join(dir, "audit.log");
    const log = new AuditLog(path, { maxSizeMb: 1, maxBackups: 2, maxAgeDays: 0 });
    flood(log, 6 * megabyte);
    await log.close();
    const files = await sizes(dir);
    const backups = [...files.keys()].filter((n) => backupName.test(n)).sort();
    assert.equal(backups.length, 2, [...files.keys()].join(", "));
    assert.deepEqual([...files.keys()].sort(), ["audit.log", ...backups].sort());
    const total = [...files.values()].reduce((a, b) => a + b, 0);
    assert.ok(total <= 3 * megabyte, `disk use ${total} bytes for 6 MB of refusals`);
  });

  it("prunes backups older than --audit-log-maxage days by the time in their name, and nothing else", async () => {
    const dir = join(root, "age");
    const path = join(dir, "audit.log");
    const log0 = new AuditLog(path, { maxSizeMb: 1, maxBackups: 0, maxAgeDays: 0 });
    log0.record(refusal(0));
    await log0.close();
    const old = "audit-2020-01-01T00-00-00.000.log";
    const recent = `audit-${new Date(Date.now() - 86_400_000).toISOString().replace(/:/g, "-").replace("Z", "")}.log`;
    for (const name of [old, recent, "audit-notes.log", "other-2020-01-01T00-00-00.000.log"]) {
      await writeFile(join(dir, name), "{}\n");
    }
    const log = new AuditLog(path, { maxSizeMb: 1, maxBackups: 0, maxAgeDays: 7 });
    flood(log, 1.2 * megabyte);
    await log.close();
    const names = await readdir(dir);
    assert.ok(!names.includes(old), "a backup older than 7 days was removed");
    assert.ok(names.includes(recent), "a backup of yesterday was kept");
    assert.ok(names.includes("audit-notes.log") && names.includes("other-2020-01-01T00-00-00.000.log"));
  });

  it("--audit-log-maxsize=0 never rotates (kube-apiserver: plain append)", async () => {
    const dir = join(root, "off");
    const path = join(dir, "audit.log");
    const log = new AuditLog(path, { maxSizeMb: 0, maxBackups: 1, maxAgeDays: 0 });
    flood(log, 1.2 * megabyte);
    await log.close();
    assert.deepEqual(await readdir(dir), ["audit.log"]);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  });
});
