// Builds the test bed's kube-apiserver (with embedded etcd), kubectl and the audit oracle (kube-apiserver's
// audit policy, legacy format and truncation code behind a JSON-lines protocol) from the Go module in
// testbed/kube, once, into a cache folder keyed by everything that affects the result: the
// module files, the Go version and the platform. Later runs find them and start in seconds.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { withCacheLock } from "./cache-lock.ts";
import { cacheDir, repoRoot } from "./paths.ts";

export interface KubeBinaries {
  readonly kubeApiserver: string;
  readonly kubectl: string;
  /** testbed/kube/cmd/audit-oracle: k8s.io/apiserver's audit code answering JSON lines (testbed/audit-oracle.ts). */
  readonly auditOracle: string;
  /** The Kubernetes release both were built from, e.g. v1.37.2. */
  readonly version: string;
}

const moduleDir = join(repoRoot, "testbed", "kube");

async function listModuleFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && (e.name.endsWith(".go") || e.name === "go.mod" || e.name === "go.sum"))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.on("error", (error) =>
      reject(
        new Error(`could not run ${command} (${error.message}): the test bed builds kube-apiserver with Go >= 1.26`),
      ),
    );
    child.on("close", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`${command} exited ${code}`))));
  });
}

async function kubernetesVersion(): Promise<string> {
  const goMod = await readFile(join(moduleDir, "go.mod"), "utf8");
  const match = /^\s*(?:require\s+)?k8s\.io\/kubernetes (v\S+)/m.exec(goMod);
  if (!match?.[1]) throw new Error("testbed/kube/go.mod does not require k8s.io/kubernetes");
  return match[1];
}

async function cacheKey(): Promise<string> {
  const hash = createHash("sha256");
  for (const file of await listModuleFiles(moduleDir)) {
    hash
      .update(relative(moduleDir, file))
      .update("\0")
      .update(await readFile(file))
      .update("\0");
  }
  hash.update(await run("go", ["env", "GOVERSION", "GOOS", "GOARCH"], moduleDir));
  return hash.digest("hex").slice(0, 16);
}

/** Returns the cached binaries, building them first if this machine has none for this key. */
export async function ensureKubeBinaries(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)) {
  const version = await kubernetesVersion();
  const dir = join(cacheDir, "kube", `${version}-${await cacheKey()}`);
  const binaries: KubeBinaries = {
    kubeApiserver: join(dir, "kube-apiserver"),
    kubectl: join(dir, "kubectl"),
    auditOracle: join(dir, "audit-oracle"),
    version,
  };
  const built = () =>
    existsSync(binaries.kubeApiserver) && existsSync(binaries.kubectl) && existsSync(binaries.auditOracle);
  if (built()) return binaries;

  // Several test processes may ask at once: one builds, the others wait for its result.
  await withCacheLock(dir, built, () => build(dir, version, log));
  return binaries;
}

async function build(dir: string, version: string, log: (line: string) => void): Promise<void> {
  const staging = `${dir}.building`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const logFile = join(staging, "build.log");
  const [major, minor] = version.slice(1).split(".");
  // Stamp the release into both binaries so `kubectl version` reports it (hack/lib/version.sh).
  const ldflags = [
    "-s -w",
    `-X k8s.io/component-base/version.gitVersion=${version}`,
    `-X k8s.io/component-base/version.gitMajor=${major}`,
    `-X k8s.io/component-base/version.gitMinor=${minor}`,
    "-X k8s.io/component-base/version.gitTreeState=clean",
  ].join(" ");
  log(`testbed: building kube-apiserver, kubectl and audit-oracle ${version} from Go modules into ${dir}`);
  log(
    "testbed: with empty Go caches this downloads ~600 MB of modules and compiles ~2,300 packages: about 9 minutes on 2 cores",
  );
  const started = Date.now();
  const out = createWriteStream(logFile);
  let packages = 0;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      "go",
      [
        "build",
        "-v",
        "-trimpath",
        "-ldflags",
        ldflags,
        "-o",
        `${staging}/`,
        "./cmd/kube-apiserver",
        "./cmd/kubectl",
        "./cmd/audit-oracle",
      ],
      { cwd: moduleDir, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CGO_ENABLED: "0" } },
    );
    const onData = (data: Buffer) => {
      out.write(data);
      for (const line of data.toString().split("\n")) {
        if (line && !line.startsWith("go: downloading")) packages++;
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const ticker = setInterval(() => {
      log(`testbed: go build … ${packages} packages compiled, ${Math.round((Date.now() - started) / 1000)} s`);
    }, 15_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearInterval(ticker);
      out.end();
      if (code === 0) resolve();
      else reject(new Error(`go build failed (exit ${code}); see ${logFile}`));
    });
  });
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
  log(`testbed: built in ${Math.round((Date.now() - started) / 1000)} s`);
}
