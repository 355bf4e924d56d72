import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { commands, main } from "../../src/cli/main.ts";

function capture() {
  const out = { stdout: "", stderr: "" };
  return {
    out,
    io: {
      stdout: (t: string) => {
        out.stdout += t;
      },
      stderr: (t: string) => {
        out.stderr += t;
      },
    },
  };
}

describe("kube-oidc-gateway CLI", () => {
  it("lists every command in its usage", async () => {
    const { out, io } = capture();
    assert.equal(await main([], io), 0);
    for (const name of ["serve", "token", "doctor", "lint", "demo"]) {
      assert.match(out.stdout, new RegExp(`^  ${name}\\s+\\S`, "m"));
    }
  });

  for (const command of commands) {
    it(`${command.name} --help explains the command`, async () => {
      const { out, io } = capture();
      assert.equal(await main([command.name, "--help"], io), 0);
      assert.match(out.stdout, new RegExp(`^Usage: kube-oidc-gateway ${command.name}\\b`));
      assert.equal(out.stderr, "");
    });
  }

  it("refuses an unknown command with exit code 2", async () => {
    const { out, io } = capture();
    assert.equal(await main(["frobnicate"], io), 2);
    assert.match(out.stderr, /unknown command "frobnicate"/);
  });

  it("runs as a program through its package bin entry", async () => {
    const bin = join(import.meta.dirname, "..", "..", "src", "cli", "main.ts");
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [bin, "--help"], (error, out) => (error ? reject(error) : resolve(out))),
    );
    assert.match(stdout, /^kube-oidc-gateway \d+\.\d+\.\d+: /);
  });
});
