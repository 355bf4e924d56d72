import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError } from "../../src/config/errors.ts";
import { kubeconfigUser, Upstream } from "../../src/upstream/cluster.ts";

describe("the upstream's kubeconfig", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function execKubeconfig(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "kog-kubeconfig-"));
    dirs.push(dir);
    const file = join(dir, "config");
    await writeFile(
      file,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "c", cluster: { server: "https://127.0.0.1:6443" } }],
        users: [{ name: "u", user: { exec: { command: "kubectl-oidc_login", args: ["get-token"] } } }],
        contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
        "current-context": "x",
      }),
    );
    return file;
  }

  it("refuses an exec plugin for the gateway's own credentials", async () => {
    const file = await execKubeconfig();
    assert.throws(
      () => new Upstream({ kubeconfig: file, extraCaFile: "" }),
      (error: unknown) => error instanceof ConfigError && /exec and auth-provider credentials/.test(error.message),
    );
  });

  it("takes a token obtained from the exec plugin when one is handed in (doctor)", async () => {
    const file = await execKubeconfig();
    assert.deepEqual(kubeconfigUser(file), { exec: { command: "kubectl-oidc_login", args: ["get-token"] } });
    const upstream = new Upstream({ kubeconfig: file, extraCaFile: "", execToken: "a.b.c" });
    assert.equal(upstream.authorization, "Bearer a.b.c");
    upstream.close();
  });

  it("says which file is not YAML", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kog-kubeconfig-"));
    dirs.push(dir);
    await writeFile(join(dir, "broken"), "clusters: [\n");
    assert.throws(
      () => new Upstream({ kubeconfig: join(dir, "broken"), extraCaFile: "" }),
      (error: unknown) => error instanceof ConfigError && error.code === "KUBECONFIG_INVALID",
    );
  });

  // Regression: Node's "ENOENT: no such file or directory, open '…'" was passed on as the message.
  it("names --kubeconfig and its path, in words, when the file is not there", () => {
    assert.throws(
      () => new Upstream({ kubeconfig: "/nonexistent/kubeconfig", extraCaFile: "" }),
      (error: unknown) =>
        error instanceof ConfigError && error.message === "--kubeconfig: /nonexistent/kubeconfig: no such file",
    );
  });
});
