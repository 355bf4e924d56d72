// Runs every test with Node's test runner and fails when none ran. `npm test` calls this after
// type-checking and linting. The test bed's binaries (kube-apiserver, kubectl, helm) are built
// and Keycloak fetched (or all found in the cache) first, so their progress shows here rather
// than inside a test's timeout.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureHelm } from "../testbed/helm.ts";
import { ensureKeycloak } from "../testbed/keycloak/distribution.ts";
import { ensureKubeBinaries } from "../testbed/kube-binaries.ts";
import { cacheDir, repoRoot } from "../testbed/paths.ts";
import { ensureHeadlamp } from "../testbed/peers/headlamp.ts";
import { ensureKubeOidcProxy } from "../testbed/peers/kube-oidc-proxy.ts";

const patterns = process.argv.slice(2);
const files = patterns.length > 0 ? patterns : ["test/**/*.test.ts"];

// The longest a test file's process may live. --test-timeout bounds each test and hook, not the
// process: a handle left open after the last hook (a client reconnecting, a timer) keeps the
// file, and so the whole run, waiting for good; a CI run hung that way past its 90 minutes, after
// every test had passed. (--test-force-exit would end such a file, but Node 24.21's runner then
// also ended files before all their suites had run, with nothing reported missing: whole suites
// went unrun and the run still passed. Not used.) 25 minutes: twice the longest file here (the
// Headlamp way-B file, 11.6 min); the soak runs for its minutes.
const soakMinutes = Number(process.env.KOG_SOAK_MINUTES ?? (process.env.CI ? 2 : 30));
const fileMinutes = Number(
  process.env.KOG_TEST_FILE_MINUTES || (files.some((f) => f.includes("soak")) ? soakMinutes + 10 : 25),
);
if (!(fileMinutes > 0)) {
  process.stderr.write(
    `run-tests: KOG_TEST_FILE_MINUTES=${process.env.KOG_TEST_FILE_MINUTES}: expected minutes above 0\n`,
  );
  process.exit(2);
}
let killedFiles = 0;

/**
 * Every 10 s, the test runner's child processes (one per test file) and how long each has run;
 * one over `minutes` is killed, named, and fails the run. Linux's /proc only; elsewhere it does
 * nothing.
 */
function fileWatchdog(runner: number, minutes: number): NodeJS.Timeout {
  const firstSeen = new Map<number, number>();
  const children = (): number[] => {
    try {
      return readdirSync(`/proc/${runner}/task`).flatMap((task) =>
        readFileSync(`/proc/${runner}/task/${task}/children`, "utf8").split(" ").filter(Boolean).map(Number),
      );
    } catch {
      return [];
    }
  };
  return setInterval(() => {
    const now = Date.now();
    const running = children();
    // A file that ended is forgotten, so a later file given its process id starts afresh.
    for (const pid of firstSeen.keys()) if (!running.includes(pid)) firstSeen.delete(pid);
    for (const pid of running) {
      const since = firstSeen.get(pid) ?? now;
      firstSeen.set(pid, since);
      if (now - since <= minutes * 60_000) continue;
      let command = String(pid);
      try {
        command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).at(-1) ?? command;
        process.kill(pid, "SIGKILL");
      } catch {
        continue;
      }
      killedFiles++;
      firstSeen.delete(pid);
      process.stderr.write(
        `run-tests: ${command} still running after ${minutes} minutes: killed (a test or hook that never ends, or a handle that keeps its process alive; KOG_TEST_FILE_MINUTES sets the limit)\n`,
      );
    }
  }, 10_000);
}

await ensureKubeBinaries();
await ensureKeycloak();
await ensureHelm();
// The peer the differential and the benchmark run beside the gateway, built from ../shared/peers.
await ensureKubeOidcProxy((line) => process.stdout.write(`${line}\n`));
// Headlamp v0.45.0 (backend and UI) for test/peers/headlamp-*.test.ts, built from ../shared/peers.
await ensureHeadlamp((line) => process.stdout.write(`${line}\n`));
await mkdir(cacheDir, { recursive: true });
const tapFile = join(cacheDir, "test-results.tap");

const code = await new Promise<number>((resolve) => {
  const child = spawn(
    process.execPath,
    [
      "--test",
      // A hung test must not eat CI's time: every test and hook gets at most ten minutes. A
      // file's process that stays alive after them is the watchdog's (below).
      "--test-timeout=600000",
      "--test-reporter=spec",
      "--test-reporter-destination=stdout",
      "--test-reporter=tap",
      `--test-reporter-destination=${tapFile}`,
      ...files,
    ],
    { cwd: repoRoot, stdio: "inherit" },
  );
  const watchdog = fileWatchdog(child.pid ?? 0, fileMinutes);
  child.on("close", (exitCode, signal) => {
    clearInterval(watchdog);
    resolve(exitCode ?? (signal ? 1 : 0));
  });
});

const tap = await readFile(tapFile, "utf8").catch(() => "");
const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, "m").exec(tap)?.[1] ?? 0);
const tests = count("tests");
const passed = count("pass");
const failed = count("fail");
if (tests === 0) {
  process.stderr.write(`run-tests: no test ran (patterns: ${files.join(" ")}); that is a failure\n`);
  process.exit(1);
}
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(code !== 0 || failed > 0 || killedFiles > 0 ? 1 : 0);
