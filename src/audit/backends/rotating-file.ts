// The audit log file as kube-apiserver writes it (k8s.io/apiserver@v0.37.2
// pkg/server/options/audit.go getWriter and ensureLogFile): the directory created 0700, the file
// 0600, and, unless --audit-log-maxsize is 0, the rotation of the lumberjack.v2@v2.2.1 logger it
// uses: a write that would take the file past maxsize first renames it to
// <name>-<UTC time as 2006-01-02T15-04-05.000><ext> beside it and starts a new one; then backups
// beyond --audit-log-maxbackup (newest kept, by the time in the name) and older than
// --audit-log-maxage days are removed, files not named like a backup left alone.
//
// Writes are synchronous, like lumberjack's: a flood of events cannot queue unbounded memory
// behind a slow disk, and the size is known at every write. With --workers several processes
// append to one file (O_APPEND keeps lines whole); the one that finds the file already rotated by
// another reopens the new one instead of rotating again.
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { basename, dirname, extname, join } from "node:path";

/** kube-apiserver's --audit-log-maxsize, --audit-log-maxbackup and --audit-log-maxage. */
export interface Rotation {
  /** Megabytes before the file is rotated; 0: never rotated. */
  readonly maxSizeMb: number;
  /** Rotated files kept; 0: no limit on their number. */
  readonly maxBackups: number;
  /** Days a rotated file is kept, by the time in its name; 0: no limit on their age. */
  readonly maxAgeDays: number;
}

/** kube-apiserver's defaults (pkg/server/options/audit.go NewAuditOptions). */
export const defaultRotation: Rotation = { maxSizeMb: 100, maxBackups: 100, maxAgeDays: 366 };

const megabyte = 1024 * 1024;
const dayMs = 24 * 60 * 60 * 1000;
// lumberjack's backupTimeFormat "2006-01-02T15-04-05.000".
const backupTime = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})\.(\d{3})$/;

const formatBackupTime = (ms: number) => new Date(ms).toISOString().replace("Z", "").replace(/:/g, "-");

export class RotatingFile {
  readonly path: string;
  readonly #rotation: Rotation;
  #fd: number | undefined;
  #size = 0;
  #lastBackupMs = 0;

  /** Creates the directory and the file (ensureLogFile); throws when it cannot. */
  constructor(path: string, rotation: Rotation = defaultRotation) {
    this.path = path;
    this.#rotation = rotation;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.#open();
    if (rotation.maxSizeMb > 0) this.#prune(); // lumberjack mills when it opens the file, too
  }

  /** Writes `line` whole, rotating first when it would pass maxsize; throws what the disk says. */
  write(line: string): void {
    const bytes = Buffer.from(line);
    const max = this.#rotation.maxSizeMb * megabyte;
    if (max > 0 && this.#size + bytes.length > max) this.#rotate();
    if (this.#fd === undefined) this.#open();
    let written = 0;
    while (written < bytes.length) written += writeSync(this.#fd as number, bytes, written);
    this.#size += written;
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #open(): void {
    this.#fd = openSync(this.path, "a", 0o600);
    this.#size = fstatSync(this.#fd).size;
  }

  #rotate(): void {
    const ours = fstatSync(this.#fd as number).ino;
    closeSync(this.#fd as number);
    this.#fd = undefined;
    let current: { ino: number; size: number } | undefined;
    try {
      current = statSync(this.path);
    } catch {
      current = undefined; // removed under us: the reopen below starts a new file
    }
    // A file that is not ours is one another worker rotated to: append to it unless it is full too.
    if (current && (current.ino === ours || current.size >= this.#rotation.maxSizeMb * megabyte)) {
      // Two rotations within a millisecond would get one name; the later one takes the next.
      const at = Math.max(Date.now(), this.#lastBackupMs + 1);
      this.#lastBackupMs = at;
      renameSync(this.path, this.#backupPath(at));
    }
    this.#open();
    this.#prune();
  }

  #backupPath(ms: number): string {
    const ext = extname(this.path);
    const prefix = basename(this.path).slice(0, basename(this.path).length - ext.length);
    return join(dirname(this.path), `${prefix}-${formatBackupTime(ms)}${ext}`);
  }

  /** lumberjack's millRunOnce: beyond maxbackup (newest first) and past maxage, removed. */
  #prune(): void {
    const { maxBackups, maxAgeDays } = this.#rotation;
    if (maxBackups === 0 && maxAgeDays === 0) return;
    const dir = dirname(this.path);
    const ext = extname(this.path);
    const prefix = `${basename(this.path).slice(0, basename(this.path).length - ext.length)}-`;
    const backups: { name: string; ms: number }[] = [];
    for (const name of readdirSync(dir)) {
      if (!name.startsWith(prefix) || !name.endsWith(ext)) continue;
      const match = backupTime.exec(name.slice(prefix.length, name.length - ext.length));
      if (!match) continue; // not a name this rotation gave: someone else's file
      const [y, mo, d, h, mi, s, ms] = match.slice(1).map(Number) as [
        number,
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      backups.push({ name, ms: Date.UTC(y, mo - 1, d, h, mi, s, ms) });
    }
    backups.sort((a, b) => b.ms - a.ms);
    const cutoff = Date.now() - maxAgeDays * dayMs;
    backups.forEach((backup, index) => {
      const tooMany = maxBackups > 0 && index >= maxBackups;
      const tooOld = maxAgeDays > 0 && backup.ms < cutoff;
      if (tooMany || tooOld) rmSync(join(dir, backup.name), { force: true });
    });
  }
}
