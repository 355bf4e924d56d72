// The container image's recipe, read as text: no Docker engine is at hand here to build it, so
// these assertions hold the Dockerfile to what the image must be (two stages on the official
// Node 24 image, a non-root numeric user, exec-form entry point, only the package's files copied
// into the final stage, nothing piped from the network into a shell).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { loadServeConfig } from "../../src/config/serve-config.ts";
import { repoRoot } from "../../testbed/paths.ts";

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** The Dockerfile's instructions: comments dropped, continuation lines joined. */
function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = "";
  let start = 0;
  text.split("\n").forEach((raw, index) => {
    const line = raw.trimEnd();
    if (pending === "" && (line.trim() === "" || line.trimStart().startsWith("#"))) return;
    if (pending !== "" && line.trimStart().startsWith("#")) return;
    if (pending === "") start = index + 1;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = `${pending}${line}`.trim();
    pending = "";
    const match = /^(\S+)\s*(.*)$/s.exec(full);
    if (match)
      instructions.push({ keyword: (match[1] as string).toUpperCase(), args: match[2] as string, line: start });
  });
  assert.equal(pending, "", "the Dockerfile ends in a continuation");
  return instructions;
}

const packageJson = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  version: string;
  license: string;
  bin: Record<string, string>;
  devDependencies: Record<string, string>;
};
const dockerfile = readFileSync(join(repoRoot, "Dockerfile"), "utf8");
const instructions = parseDockerfile(dockerfile);
const froms = instructions.filter((i) => i.keyword === "FROM");
const lastFrom = instructions.lastIndexOf(froms.at(-1) as Instruction);
const finalStage = instructions.slice(lastFrom + 1);
const buildStage = instructions.slice(instructions.indexOf(froms[0] as Instruction) + 1, lastFrom);

/** Where the build stage writes the image's defaults for `serve`, under /app. */
const serveDefaultsPath = "dist/serve-defaults.yaml";
/** That file's text, from the build stage's `printf '…' > dist/serve-defaults.yaml`. */
function serveDefaultsText(): string {
  const runs = buildStage.filter((i) => i.keyword === "RUN").map((i) => i.args);
  const written = runs
    .map((r) => new RegExp(`printf '([^']*)' > ${serveDefaultsPath.replaceAll(".", "\\.")}`).exec(r))
    .find((m) => m !== null);
  assert.ok(written, `a RUN writes ${serveDefaultsPath}: ${runs.join("\n")}`);
  return (written[1] as string).replaceAll("\\n", "\n");
}

describe("Dockerfile", () => {
  it("has two stages, both on the official Node 24 image pinned to the project's Node, the last one slim", () => {
    assert.equal(froms.length, 2, froms.map((f) => f.args).join("\n"));
    const images = froms.map((f) => f.args.split(/\s+/)[0] as string);
    for (const image of images) {
      assert.match(image, /^(docker\.io\/(library\/)?)?node:24\.\d+\.\d+-[a-z0-9.-]+(@sha256:[0-9a-f]{64})?$/, image);
      // The image runs the Node the tests ran on (the `node` dev dependency).
      assert.ok(
        image.includes(`node:${packageJson.devDependencies.node}-`),
        `${image} is not Node ${packageJson.devDependencies.node}`,
      );
    }
    assert.match(images[1] as string, /-slim(@|$)/);
    assert.match(froms[0]?.args ?? "", /\sAS\s+build$/i);
  });

  it("builds with npm ci, the package build and a production-only prune", () => {
    const runs = buildStage.filter((i) => i.keyword === "RUN").map((i) => i.args);
    assert.ok(
      runs.some((r) => /\bnpm ci\b/.test(r) && r.includes("--ignore-scripts")),
      runs.join("\n"),
    );
    assert.ok(
      runs.some((r) => /\bnpm run build\b/.test(r)),
      runs.join("\n"),
    );
    assert.ok(
      runs.some((r) => /\bnpm prune --omit=dev\b/.test(r)),
      runs.join("\n"),
    );
  });

  it("copies only the package's files into the final stage", () => {
    const copies = finalStage.filter((i) => i.keyword === "COPY" || i.keyword === "ADD");
    assert.ok(
      copies.every((c) => c.keyword === "COPY"),
      "ADD is not used",
    );
    const sources = copies.map((c) => {
      const parts = c.args.split(/\s+/).filter((p) => !p.startsWith("--chown") && !p.startsWith("--chmod"));
      const from = parts[0]?.startsWith("--from=") ? parts.shift() : undefined;
      assert.equal(parts.length, 2, `one source and one destination: COPY ${c.args}`);
      assert.ok(from === undefined || from === "--from=build", c.args);
      return (parts[0] as string).replace(/^\/app\//, "").replace(/\/$/, "");
    });
    assert.deepEqual(sources.sort(), ["LICENSE", "dist", "docs", "node_modules", "package.json"]);
  });

  it("runs as a numeric uid and gid above 10000, the chart's default, with no RUN in the final stage", () => {
    // kube-score container-security-context-user-group-id and Trivy KSV020/KSV021: ids above 10000
    // are no one in the node's user table (the base image's node user, 1000, was before issue 20).
    const users = finalStage.filter((i) => i.keyword === "USER");
    assert.equal(users.length, 1);
    const match = /^(\d+):(\d+)$/.exec(users[0]?.args ?? "");
    assert.ok(match, `USER ${users[0]?.args}: uid:gid, both numbers`);
    const [uid, gid] = [Number(match[1]), Number(match[2])];
    assert.ok(uid > 10000 && gid > 10000, `USER ${uid}:${gid}`);
    const values = parseYaml(readFileSync(join(repoRoot, "charts", "kube-oidc-gateway", "values.yaml"), "utf8")) as {
      podSecurityContext: { runAsUser: number; runAsGroup: number; fsGroup: number };
    };
    assert.deepEqual(values.podSecurityContext, {
      ...values.podSecurityContext,
      runAsUser: uid,
      runAsGroup: gid,
      fsGroup: gid,
    });
    assert.deepEqual(
      finalStage.filter((i) => i.keyword === "RUN"),
      [],
    );
  });

  it("starts the built CLI in exec form: serve by default, any command by argument", () => {
    const entrypoint = finalStage.filter((i) => i.keyword === "ENTRYPOINT");
    const cmd = finalStage.filter((i) => i.keyword === "CMD");
    assert.equal(entrypoint.length, 1);
    assert.equal(cmd.length, 1);
    assert.deepEqual(JSON.parse(entrypoint[0]?.args ?? ""), ["node", `/app/${packageJson.bin["kube-oidc-gateway"]}`]);
    assert.deepEqual(JSON.parse(cmd[0]?.args ?? ""), ["serve", `--config=/app/${serveDefaultsPath}`]);
  });

  it("listens on the unprivileged 8443 by default, from a --config file that the environment, flags and the chart's arguments beat", async () => {
    // The file the build stage writes, loaded by serve's own configuration loader.
    const folder = await mkdtemp(join(tmpdir(), "kog-dockerfile-"));
    try {
      const file = join(folder, "serve-defaults.yaml");
      await writeFile(file, serveDefaultsText());
      const issuer = [
        "--oidc-issuer-url=https://issuer.example.com",
        "--oidc-client-id=kubernetes",
        `--cert-dir=${folder}`,
      ];
      const port = (args: string[], env: Record<string, string> = {}) =>
        loadServeConfig([...args, ...issuer], env).config?.serving.securePort;
      assert.equal(port([`--config=${file}`]), 8443, "the image's CMD");
      assert.equal(port([`--config=${file}`], { KOG_SECURE_PORT: "9443" }), 9443, "KOG_SECURE_PORT beats it");
      assert.equal(port([`--config=${file}`, "--secure-port=9443"]), 9443, "a flag beats it");
      assert.equal(port([]), 443, "serve's own default is unchanged: other arguments replace the CMD whole");
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
    // No KOG_SECURE_PORT in the image: it would beat the chart's config.yaml (next test).
    assert.equal(serveDefaultsText(), '{"secure-port": 8443}\n');
    // JSON, so serve reads it without loading the YAML library (src/config/lazy-libraries.ts).
    assert.deepEqual(JSON.parse(serveDefaultsText()), { "secure-port": 8443 });
  });

  it("puts kube-oidc-proxy on the PATH, for its manifests' command: [kube-oidc-proxy]", () => {
    const runs = buildStage.filter((i) => i.keyword === "RUN").map((i) => i.args);
    for (const [name, target] of Object.entries(packageJson.bin)) {
      const link = `ln -s ../${target.replace(/^dist\//, "")} dist/bin/${name}`;
      assert.ok(
        runs.some((r) => r.includes(link)),
        `${link} in ${runs.join("\n")}`,
      );
    }
    assert.ok(packageJson.bin["kube-oidc-proxy"], "package.json's bin names kube-oidc-proxy");
    const env = finalStage
      .filter((i) => i.keyword === "ENV")
      .map((i) => i.args)
      .join(" ");
    assert.match(env, /\bPATH=\/app\/dist\/bin:/);
  });

  it("exposes the gateway and health ports, sets production mode and no KOG_* setting", () => {
    const exposed = finalStage
      .filter((i) => i.keyword === "EXPOSE")
      .flatMap((i) => i.args.split(/\s+/))
      .sort();
    assert.deepEqual(exposed, ["8080", "8443"]);
    const env = finalStage
      .filter((i) => i.keyword === "ENV")
      .map((i) => i.args)
      .join(" ");
    assert.match(env, /\bNODE_ENV=production\b/);
    // The environment beats serve's --config file: a KOG_* default in the image would override what
    // a chart writes there.
    assert.doesNotMatch(env, /\bKOG_/);
  });

  it("carries OCI labels, with the package's version and license", () => {
    const labels = finalStage
      .filter((i) => i.keyword === "LABEL")
      .map((i) => i.args)
      .join(" ");
    assert.match(labels, /org\.opencontainers\.image\.title="kube-oidc-gateway"/);
    assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.licenses="${packageJson.license}"`));
    assert.match(labels, /org\.opencontainers\.image\.version="\$\{VERSION\}"/);
    const version = finalStage.find((i) => i.keyword === "ARG" && i.args.startsWith("VERSION="));
    assert.equal(version?.args, `VERSION=${packageJson.version}`, "ARG VERSION's default follows package.json");
  });

  it("pipes nothing from the network into a shell", () => {
    assert.doesNotMatch(dockerfile, /\b(curl|wget)\b[^\n]*\|\s*(ba|da|z)?sh\b/);
    assert.doesNotMatch(dockerfile, /^\s*ADD\s+https?:/im);
  });
});

describe(".dockerignore", () => {
  const ignored = readFileSync(join(repoRoot, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));

  it("keeps the caches, dependencies, tests, test bed and git history out of the build context", () => {
    for (const path of [".git", ".cache", "node_modules", "test", "testbed", "dist"]) {
      assert.ok(ignored.includes(path), `${path} is not ignored`);
    }
  });

  it("ignores nothing the Dockerfile copies from the context", () => {
    const fromContext = instructions
      .filter((i) => i.keyword === "COPY" && !i.args.includes("--from="))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1))
      .map((p) => p.replace(/\/$/, ""));
    assert.ok(fromContext.length > 0);
    for (const path of fromContext) {
      assert.ok(
        !ignored.some((pattern) => pattern === path || path.startsWith(`${pattern}/`)),
        `${path} is copied but ignored`,
      );
    }
  });
});
