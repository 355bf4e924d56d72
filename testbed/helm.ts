// Builds the `helm` binary the chart tests use from Helm's Go module (served by the Go module
// proxy like every other Go dependency of the test bed), once, into the cache folder keyed by
// the Helm version. Later runs find it and return at once. The pattern is kube-binaries.ts's:
// a staging folder renamed into place, a lock so that parallel test files build it once, and
// progress lines while `go build` runs.
import { spawn } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withCacheLock } from "./cache-lock.ts";
import { cacheDir } from "./paths.ts";

/** The Helm release the chart is tested with. */
export const helmVersion = "v3.22.0";

const helmModule = "helm.sh/helm/v3";

/** Where the binary of `version` lives once built. */
export const helmBinaryPath = (version = helmVersion) => join(cacheDir, "helm", version, "helm");

/** Runs a go command with its output in `logFile`; `onLine` sees each line (progress counting). */
function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  logFile: string,
  onLine: (line: string) => void = () => {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(logFile, { flags: "a" });
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    const onData = (data: Buffer) => {
      out.write(data);
      for (const line of data.toString().split("\n")) if (line) onLine(line);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", (error) =>
      reject(new Error(`could not run ${command} (${error.message}): the chart tests build helm with Go >= 1.26`)),
    );
    child.on("close", (code) => {
      out.end();
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(" ")} exited ${code}; see ${logFile}`));
    });
  });
}

/** Returns the cached helm binary, building it first if this machine has none for `version`. */
export async function ensureHelm(
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  version = helmVersion,
): Promise<string> {
  const binary = helmBinaryPath(version);
  const dir = join(binary, "..");
  if (existsSync(binary)) return binary;
  // Several test files may ask at once: one builds, the others wait for its result.
  await withCacheLock(
    dir,
    () => existsSync(binary),
    () => build(dir, version, log),
  );
  return binary;
}

async function build(dir: string, version: string, log: (line: string) => void): Promise<void> {
  const staging = `${dir}.building`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const logFile = join(staging, "build.log");
  // A throw-away main module that requires Helm at exactly this version: `go build` of a package
  // path then resolves Helm's own go.mod requirements (minimal version selection) without a
  // checkout. The module cache and build cache stay the user's, so a rebuild after clearing
  // .cache/ downloads nothing.
  const moduleDir = await mkdtemp(join(tmpdir(), "kog-helm-build-"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CGO_ENABLED: "0",
    // -mod=mod lets `go build` complete go.sum of the temporary module from the proxy; keep the
    // user's other GOFLAGS (e.g. -buildvcs=false).
    GOFLAGS: `${process.env.GOFLAGS ?? ""} -mod=mod`.trim(),
  };
  log(`testbed: building helm ${version} from the Go module ${helmModule} into ${dir}`);
  log("testbed: with empty Go caches this downloads Helm's modules and compiles them: about 2 minutes on 2 cores");
  const started = Date.now();
  let packages = 0;
  const ticker = setInterval(() => {
    log(`testbed: go build helm … ${packages} packages compiled, ${Math.round((Date.now() - started) / 1000)} s`);
  }, 15_000);
  try {
    await writeFile(join(moduleDir, "go.mod"), "module kube-oidc-gateway.local/helm-build\n\ngo 1.26\n");
    await run("go", ["get", `${helmModule}/cmd/helm@${version}`], moduleDir, env, logFile);
    const ldflags = await helmLdflags(moduleDir, version);
    await run(
      "go",
      ["build", "-v", "-trimpath", "-ldflags", ldflags, "-o", join(staging, "helm"), `${helmModule}/cmd/helm`],
      moduleDir,
      env,
      logFile,
      // -v prints each package as it is compiled.
      (line) => {
        if (!line.startsWith("go: downloading")) packages++;
      },
    );
  } finally {
    clearInterval(ticker);
    await rm(moduleDir, { recursive: true, force: true });
  }
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
  log(`testbed: built helm ${version} in ${Math.round((Date.now() - started) / 1000)} s`);
}

/**
 * The -X flags of Helm's Makefile (LDFLAGS): the release, so `helm version` reports it, and the
 * Kubernetes version Helm assumes without a cluster (`helm template`, `helm lint`: the
 * Capabilities.KubeVersion that charts' kubeVersion is checked against). The Makefile derives
 * the latter from Helm's k8s.io/client-go requirement, v0.X.Y → 1.X; unstamped, Helm says v1.20.
 */
async function helmLdflags(moduleDir: string, version: string): Promise<string> {
  const goMod = await readFile(join(moduleDir, "go.mod"), "utf8");
  const match = /^\s*k8s\.io\/client-go v0\.(\d+)\.\d+/m.exec(goMod);
  if (!match?.[1]) throw new Error(`helm ${version}: k8s.io/client-go not found among its requirements`);
  const minor = match[1];
  return [
    "-s -w",
    `-X ${helmModule}/internal/version.version=${version}`,
    `-X ${helmModule}/internal/version.gitTreeState=clean`,
    ...["pkg/lint/rules", "pkg/chartutil"].flatMap((pkg) => [
      `-X ${helmModule}/${pkg}.k8sVersionMajor=1`,
      `-X ${helmModule}/${pkg}.k8sVersionMinor=${minor}`,
    ]),
  ].join(" ");
}

/** Lets `node testbed/helm.ts` build (or find) the binary and print its path. */
if (import.meta.main) {
  process.stdout.write(`${await ensureHelm()}\n`);
}
