// A kubeconfig for `serve` runs that fail or stop before anything is proxied: its API server
// (port 1 on loopback) is never reached, but the file parses and names a credential.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** Writes `<dir>/kubeconfig` (readable by any user, for runs under setpriv) and returns its path. */
export function writeUnreachableKubeconfig(dir: string): string {
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster: { server: "https://127.0.0.1:1" } }],
      users: [{ name: "u", user: { token: "t" } }],
      contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
      "current-context": "x",
    }),
    { mode: 0o644 },
  );
  return kubeconfig;
}
