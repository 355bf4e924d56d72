// What the package's executables run first (kube-oidc-gateway.ts, kube-oidc-proxy.ts): refuse a
// Node.js older than package.json's engines with one line and a non-zero exit, then load the CLI.
//
// On an older Node the CLI does not fail by itself: it silently does nothing. main.ts ran only
// `if (import.meta.main)`, which Node added in 24.2 and 22.18, so on Node 20 every command printed
// nothing and exited 0 (a `lint` with ten errors passed green in CI). So this module must run on any
// Node that can install the package: it imports nothing statically, uses no syntax newer than
// ES2017 (no `?.`, `??`, class fields or top-level await: tsc emits it as written), and loads the
// CLI, which may use anything Node 22.18 has, by a dynamic import only after the check passed.
// test/package/pack.test.ts runs the installed package on the machine's older Node to prove it.

/** package.json's engines.node, as `>=<major>.<minor>` (a test checks they agree). */
export const minimumNode = "22.18";

/** Whether `version` (process.versions.node's form: "20.20.2") is at least `minimum` ("22.18"). */
export function supportsNode(version: string, minimum: string = minimumNode): boolean {
  const have = version.split(".").map(Number);
  const need = minimum.split(".").map(Number);
  for (let i = 0; i < need.length; i++) {
    const a = have[i] || 0;
    const b = need[i] || 0;
    if (a !== b) return a > b;
  }
  return true;
}

/** On a Node older than `minimumNode`: one line on standard error naming both, and exit 1. */
export function requireSupportedNode(name: string): void {
  if (supportsNode(process.versions.node)) return;
  process.stderr.write(
    `${name}: needs Node.js ${minimumNode} or later; this is Node.js ${process.version} (${process.execPath})\n`,
  );
  process.exit(1);
}

/**
 * Runs the CLI with `prefix` and the process's arguments, and exits with its code; on an older
 * Node, says so in one line on standard error and exits 1 instead.
 */
export function start(name: string, prefix: readonly string[]): void {
  requireSupportedNode(name);
  import("./main.ts")
    .then((cli) => cli.main(prefix.concat(process.argv.slice(2))))
    // Exit explicitly: after a graceful stop, a half-open client connection must not keep the
    // process (and a terminating pod) alive.
    .then(
      (code) => process.exit(code),
      (error: unknown) => {
        process.stderr.write(`${name}: ${error instanceof Error && error.stack ? error.stack : String(error)}\n`);
        process.exit(1);
      },
    );
}
