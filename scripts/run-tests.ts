// Runs every test with Node's test runner and fails when none ran. `npm test` calls this after
// type-checking and linting. The test bed's binaries (kube-apiserver, kubectl, helm) are built
// and Keycloak fetched (or all found in the cache) first, so their progress shows here rather
// than inside a test's timeout.
import { spawn } from "node:child_process";
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
      // A hung test must not eat CI's time: every test and hook gets at most ten minutes.
      "--test-timeout=600000",
      // And a file ends when its tests have: without this, a handle still open after the last
      // hook (a client reconnecting, a timer) keeps the file's process, and so the whole run,
      // alive for good; the timeout above does not cover it. A stuck Redis close did that on CI
      // (test/session/redis-store.test.ts holds that regression); the test bed's servers run
      // under a supervisor, so they end with the process either way.
      "--test-force-exit",
      "--test-reporter=spec",
      "--test-reporter-destination=stdout",
      "--test-reporter=tap",
      `--test-reporter-destination=${tapFile}`,
      ...files,
    ],
    { cwd: repoRoot, stdio: "inherit" },
  );
  child.on("close", (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
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
process.exit(code !== 0 || failed > 0 ? 1 : 0);
