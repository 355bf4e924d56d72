// Regression: a test runner killed mid-run (SIGKILL, no cleanup) must not leave kube-apiserver
// and its etcd running. The launcher holds the server's stdin open; the server exits on EOF.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { it } from "node:test";
import { waitFor } from "../../testbed/http.ts";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it("kube-apiserver exits when its launcher is killed without cleanup", { timeout: 120_000 }, async () => {
  const launcher = spawn(process.execPath, [join(import.meta.dirname, "fixtures", "start-bed-and-wait.ts")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const firstLine = await new Promise<string>((resolve, reject) => {
    createInterface({ input: launcher.stdout }).once("line", resolve);
    launcher.once("exit", (code) => reject(new Error(`launcher exited ${code} before the bed was up`)));
  });
  const { pid, dir } = JSON.parse(firstLine) as { pid: number; dir: string };
  try {
    assert.ok(alive(pid), "kube-apiserver is not running");
    launcher.kill("SIGKILL");
    await waitFor("kube-apiserver to exit after its launcher died", async () => !alive(pid), {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
  } finally {
    if (alive(pid)) process.kill(pid, "SIGKILL");
    // The killed launcher could not remove its folder; this test does.
    await rm(dir, { recursive: true, force: true });
  }
});
