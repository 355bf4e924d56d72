// A setting found wrong only when serve uses it (helper C's ConfigErrors from the serving
// listener: a certificate file that is not there) exits 2 like every other configuration error,
// not 1, with the message naming the flag and the pointer to --help. Regression: serve exited 1
// with the same message, so scripts and kubelet events could not tell a bad flag from a crash.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { repoRoot } from "../../testbed/paths.ts";
import { writeUnreachableKubeconfig } from "../helpers/unreachable-kubeconfig.ts";

/** The real executable's serve, as another user when `uid` is given (setpriv), its upstream never reached. */
function serve(args: string[], options: { uid?: number; env?: NodeJS.ProcessEnv } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "kog-serve-start-"));
  chmodSync(dir, 0o777);
  const argv = [
    join(repoRoot, "src", "cli", "main.ts"),
    "serve",
    "--oidc-issuer-url=https://127.0.0.1:9/issuer",
    "--oidc-client-id=kubernetes",
    `--kubeconfig=${writeUnreachableKubeconfig(dir)}`,
    `--cert-dir=${dir}`,
    "--bind-address=127.0.0.1",
    ...args,
  ];
  const [command, commandArgs] =
    options.uid === undefined
      ? [process.execPath, argv]
      : ["setpriv", [`--reuid=${options.uid}`, `--regid=${options.uid}`, "--clear-groups", process.execPath, ...argv]];
  return spawnSync(command, commandArgs, {
    encoding: "utf8",
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? "", ...options.env },
  });
}

describe("serve's start-up advice", () => {
  it("warns about a KOG_* variable that sets nothing, naming the closest one", () => {
    const result = serve(
      [
        "--secure-port=0",
        "--health-port=0",
        "--tls-cert-file=/nonexistent/tls.crt",
        "--tls-private-key-file=/nonexistent/tls.key",
      ],
      {
        env: { KOG_SECURE_PROT: "8443" },
      },
    );
    assert.equal(result.status, 2, result.stderr);
    const warning = result.stderr
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, string>)
      .find((line) => line.msg === "environment variable ignored");
    assert.equal(warning?.variable, "KOG_SECURE_PROT");
    assert.equal(warning?.closest, "KOG_SECURE_PORT");
  });

  // Regression: the advice named --secure-port=8443 whatever port failed, and with --workers the
  // primary's health port failure was a raw stack trace.
  for (const [what, args, flag] of [
    ["the health port", ["--secure-port=0", "--health-port=81"], "--health-port"],
    ["--api-port", ["--secure-port=0", "--health-port=0", "--api-port=82"], "--api-port"],
    ["the health port of --workers' primary", ["--secure-port=0", "--health-port=83", "--workers=2"], "--health-port"],
  ] as const) {
    it(`names the flag of a privileged port a non-root user may not bind: ${what}`, () => {
      const result = serve([...args], { uid: 1000 });
      assert.equal(result.status, 1, result.stderr);
      assert.match(result.stderr, new RegExp(`Port \\d+ \\(${flag}\\) is privileged`));
      assert.match(result.stderr, new RegExp(`e\\.g\\. ${flag}=\\d+`));
      assert.doesNotMatch(result.stderr, /^\s+at /m, "a stack trace");
    });
  }
});

describe("serve's configuration errors found at start", () => {
  it("exit 2 when --tls-cert-file is not there, naming the flag", () => {
    const dir = mkdtempSync(join(tmpdir(), "kog-serve-config-errors-"));
    const kubeconfig = writeUnreachableKubeconfig(dir);
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
