import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { commands, isProgram, main } from "../../src/cli/main.ts";
import { supportsNode } from "../../src/cli/start.ts";

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

  for (const entry of commands) {
    it(`${entry.name}: the table's name and summary are those of the command it loads`, async () => {
      const command = await entry.load();
      assert.equal(command.name, entry.name);
      assert.equal(command.summary, entry.summary);
    });

    const command = entry;
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
    const bin = join(import.meta.dirname, "..", "..", "src", "cli", "kube-oidc-gateway.ts");
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [bin, "--help"], (error, out) => (error ? reject(error) : resolve(out))),
    );
    assert.match(stdout, /^kube-oidc-gateway \d+\.\d+\.\d+: /);
  });

  // The command modules the CLI imports when run with `args`, as Node resolves them: a resolve
  // hook (module.registerHooks) registered before the entry runs prints each one.
  function commandModulesLoaded(args: readonly string[]): string[] {
    const hook = `import { registerHooks } from "node:module";
registerHooks({ resolve(specifier, context, next) {
  const result = next(specifier, context);
  if (result.url.includes("/src/cli/commands/")) process.stderr.write("LOADED " + result.url.split("/src/cli/commands/")[1] + "\\n");
  return result;
} });`;
    const bin = join(import.meta.dirname, "..", "..", "src", "cli", "main.ts");
    const r = spawnSync(process.execPath, [`--import=data:text/javascript,${encodeURIComponent(hook)}`, bin, ...args], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    return [...r.stderr.matchAll(/^LOADED (\S+)$/gm)].map((m) => m[1] as string);
  }

  it("loads no command module for --help and --version (each is loaded on demand)", () => {
    assert.deepEqual(commandModulesLoaded(["--help"]), []);
    assert.deepEqual(commandModulesLoaded(["--version"]), []);
  });

  it("loads only lint's module for lint --help (the hook sees what is loaded)", () => {
    assert.deepEqual(commandModulesLoaded(["lint", "--help"]), ["lint.ts"]);
  });

  it("compares Node versions numerically against the minimum (start.ts)", () => {
    for (const v of ["22.18.0", "22.18.1", "22.19.0", "23.0.0", "24.21.0", "100.0.0"]) {
      assert.equal(supportsNode(v), true, v);
    }
    for (const v of ["22.17.9", "22.9.0", "20.20.2", "18.20.8", "14.21.3", "8.0.0"]) {
      assert.equal(supportsNode(v), false, v);
    }
  });

  // Node 23 and 24.0-24.1 (inside engines) have no import.meta.main: `if (import.meta.main)` left
  // serve --workers's workers and a direct `node dist/cli/main.js` doing nothing, exit 0.
  it("isProgram: without import.meta.main, the script's real path decides (through a bin symlink too)", () => {
    const file = join(import.meta.dirname, "..", "..", "src", "cli", "main.ts");
    const url = pathToFileURL(file).href;
    const dir = mkdtempSync(join(tmpdir(), "kog-main-"));
    try {
      const link = join(dir, "kube-oidc-gateway");
      symlinkSync(file, link);
      assert.equal(isProgram({ url }, file), true);
      assert.equal(isProgram({ url }, link), true);
      assert.equal(isProgram({ url }, join(import.meta.dirname, "main.test.ts")), false);
      assert.equal(isProgram({ url }, join(dir, "missing")), false);
      assert.equal(isProgram({ url }, undefined), false);
      assert.equal(isProgram({ main: false, url }, file), false);
      assert.equal(isProgram({ main: true, url }, undefined), true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
