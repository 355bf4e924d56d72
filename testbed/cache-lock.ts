// Serialises work on one cache entry across processes (node --test runs test files in
// parallel): the first caller does the work, the others wait and then find its result.
import { mkdir, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `work` while holding the lock `${entry}.lock`, unless `done()` says another process
 * already produced the entry. A lock older than `staleMs` belongs to a dead process.
 */
export async function withCacheLock<T>(
  entry: string,
  done: () => boolean,
  work: () => Promise<T>,
  staleMs = 60 * 60_000,
): Promise<T | undefined> {
  await mkdir(dirname(entry), { recursive: true });
  const lock = `${entry}.lock`;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      const age = Date.now() - (await stat(lock).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if (age > staleMs) await rm(lock, { recursive: true, force: true });
      if (done()) return undefined;
      await sleep(2000);
    }
  }
  try {
    return done() ? undefined : await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}
