// A setting found wrong only when serve uses it (helper C's ConfigErrors from the serving
// listener: a certificate file that is not there) exits 2 like every other configuration error,
// not 1, with the message naming the flag and the pointer to --help. Regression: serve exited 1
// with the same message, so scripts and kubelet events could not tell a bad flag from a crash.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { repoRoot } from "../../testbed/paths.ts";

describe("serve's configuration errors found at start", () => {
  it("exit 2 when --tls-cert-file is not there, naming the flag", () => {
    const dir = mkdtempSync(join(tmpdir(), "kog-serve-config-errors-"));
    // A kubeconfig of its own (nothing is contacted before the listener reads its files).
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "c", cluster: { server: "https://127.0.0.1:9" } }],
        users: [{ name: "u", user: { token: "t" } }],
        contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
        "current-context": "x",
      }),
    );
    const missing = join(dir, "missing", "tls.crt");
    const result = spawnSync(
      process.execPath,
      [
        join(repoRoot, "src", "cli", "main.ts"),
        "serve",
        "--oidc-issuer-url=https://127.0.0.1:9/issuer",
        "--oidc-client-id=kubernetes",
        `--tls-cert-file=${missing}`,
        `--tls-private-key-file=${join(dir, "missing", "tls.key")}`,
        `--kubeconfig=${kubeconfig}`,
        "--bind-address=127.0.0.1",
        "--secure-port=0",
        "--health-port=0",
      ],
      { encoding: "utf8", timeout: 60_000 },
    );
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, new RegExp(`kube-oidc-gateway serve: --tls-cert-file: ${missing}`));
    assert.match(result.stderr, /Run 'kube-oidc-gateway serve --help' for the flags\./);
  });
});
