// Fetches Keycloak's server distribution (org.keycloak:keycloak-quarkus-dist) from Maven Central
// with Maven, once, into the cache, and unpacks it there. The first start augments the Quarkus
// application inside the distribution (lib/quarkus); later starts with the same build options
// reuse that, which is what makes them fast.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { withCacheLock } from "../cache-lock.ts";
import { cacheDir } from "../paths.ts";

/** The Keycloak release the bed runs. 26.x supports OpenJDK 17. */
export const keycloakVersion = "26.7.3";

export interface KeycloakDistribution {
  readonly version: string;
  /** The unpacked distribution (kc.sh is in bin/). */
  readonly home: string;
}

function run(command: string, args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", (error) => reject(new Error(`${command}: ${error.message}`)));
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited ${code}`)),
    );
  });
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? "").split(":").some((dir) => dir && existsSync(join(dir, command)));
}

export async function ensureKeycloak(
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<KeycloakDistribution> {
  const root = join(cacheDir, "keycloak", keycloakVersion);
  const home = join(root, `keycloak-${keycloakVersion}`);
  const fetched = () => existsSync(join(home, "bin", "kc.sh"));
  if (!fetched()) await withCacheLock(root, fetched, () => fetch(root, log));
  return { version: keycloakVersion, home };
}

async function fetch(root: string, log: (line: string) => void): Promise<void> {
  if (!onPath("mvn")) throw new Error("Keycloak is fetched from Maven Central with Maven: install maven (mvn)");
  const staging = `${root}.fetching`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const artifact = `org.keycloak:keycloak-quarkus-dist:${keycloakVersion}:zip`;
  log(`testbed: fetching ${artifact} from Maven Central (about 170 MB)`);
  await run(
    "mvn",
    ["-q", "-B", "-Dstyle.color=never", "dependency:copy", `-Dartifact=${artifact}`, `-DoutputDirectory=${staging}`],
    staging,
  );
  const zip = join(staging, `keycloak-quarkus-dist-${keycloakVersion}.zip`);
  log("testbed: unpacking Keycloak");
  if (onPath("unzip")) await run("unzip", ["-q", zip], staging);
  else await run("jar", ["xf", zip], staging);
  await rm(zip);
  await rm(root, { recursive: true, force: true });
  await rename(staging, root);
}
