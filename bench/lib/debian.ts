// Programs the benchmarks take from Debian's packages (nginx, wrk), installed with apt-get when
// missing: as root, or through passwordless sudo.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

/** The first of `paths` that exists, after installing `pkg` if none does. */
export function ensureDebianPackage(pkg: string, paths: readonly string[], log: (line: string) => void): string {
  const found = paths.find((p) => existsSync(p));
  if (found) return found;
  log(`bench: ${paths[0]} is missing; installing it with apt-get (Debian package ${pkg})`);
  const sudo = process.getuid?.() === 0 ? [] : ["sudo", "-n"];
  const run = (args: string[]) =>
    execFileSync(sudo[0] ?? args[0] ?? "", [...sudo.slice(1), ...(sudo.length ? args : args.slice(1))], {
      stdio: "ignore",
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  try {
    run(["apt-get", "install", "-y", "--no-install-recommends", pkg]);
  } catch {
    run(["apt-get", "update"]);
    run(["apt-get", "install", "-y", "--no-install-recommends", pkg]);
  }
  const installed = paths.find((p) => existsSync(p));
  if (!installed) throw new Error(`${pkg} is not installed and apt-get did not install it`);
  return installed;
}
