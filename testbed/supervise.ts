// Starts a long-running server that cannot watch for its parent's death itself (Keycloak's
// JVM), under a small bash supervisor that can: it holds the pipe on its stdin, and when that
// pipe closes (the test process died) or it receives SIGTERM, it sends SIGTERM to the server.
// The supervisor leads its own process group, so a last-resort SIGKILL reaches everything.
import { type ChildProcess, spawn } from "node:child_process";

// Background jobs of a non-interactive shell read /dev/null unless told otherwise, hence the
// explicit descriptor 3 for the watcher.
const supervisor = `
exec 3<&0
"$@" </dev/null &
child=$!
trap 'kill -TERM $child 2>/dev/null' TERM INT
( cat <&3 >/dev/null; kill -TERM $child 2>/dev/null ) &
watcher=$!
status=0
while :; do
  wait $child; status=$?
  kill -0 $child 2>/dev/null || break
done
kill $watcher 2>/dev/null
exit $status
`;

export interface Supervised {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL to the whole group after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnSupervised(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Supervised {
  const child = spawn("bash", ["-c", supervisor, "supervisor", command, ...args], {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const stop = async (graceMs = 30_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    }, graceMs);
    await exited;
    clearTimeout(timer);
  };
  return { child, exited, stop };
}
