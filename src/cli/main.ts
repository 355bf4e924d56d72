#!/usr/bin/env node
// The kube-oidc-gateway command line: one entry, one file per subcommand under commands/.
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { packageVersion } from "../observability/build.ts";
import type { CommandContext, CommandEntry } from "./command.ts";
import { requireSupportedNode } from "./start.ts";

// One entry per command, each module loaded on demand (see CommandEntry): `--help` of the built
// package takes ~80 ms and ~49 MB peak RSS (Node alone: ~60 ms, ~44 MB) instead of ~340 ms and
// ~81 MB with every command imported up front (bench/cli-startup.ts).
export const commands: readonly CommandEntry[] = [
  {
    name: "serve",
    summary: "run the authenticating, impersonating gateway to the Kubernetes API",
    load: async () => (await import("./commands/serve.ts")).serve,
  },
  {
    name: "token",
    summary: "decode and verify a token locally and show the identity the API server would see",
    load: async () => (await import("./commands/token.ts")).token,
  },
  {
    name: "doctor",
    summary: "check a live OIDC setup end to end and name the root cause of what is broken",
    load: async () => (await import("./commands/doctor.ts")).doctor,
  },
  {
    name: "lint",
    summary: "flag OIDC misconfigurations in Kubernetes manifests before they ship",
    load: async () => (await import("./commands/lint.ts")).lint,
  },
  {
    name: "demo",
    summary: "bring up the whole chain on this machine: issuer, kube-apiserver, gateway, kubectl",
    load: async () => (await import("./commands/demo.ts")).demo,
  },
  {
    name: "explain",
    summary: "print the page of a doctor check or lint rule (what it means, how to fix it)",
    load: async () => (await import("./commands/explain.ts")).explain,
  },
];

/** serve with kube-oidc-proxy's defaults: flags only, or the kube-oidc-proxy executable. */
async function runKubeOidcProxy(args: readonly string[]): Promise<number> {
  const { kubeOidcProxyProfile, runServe } = await import("./commands/serve.ts");
  return runServe(args, kubeOidcProxyProfile);
}

export function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `kube-oidc-gateway ${packageVersion()}: OIDC login to Kubernetes that works, and says why when it does not.

Usage: kube-oidc-gateway <command> [flags]
       kube-oidc-gateway --<serve flag> …   (also: kube-oidc-proxy [flags]): serve with kube-oidc-proxy's defaults

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

Run 'kube-oidc-gateway <command> --help' for a command's flags.`;
}

type Io = Pick<CommandContext, "stdout" | "stderr"> & Partial<CommandContext>;

const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const [first, ...rest] = argv;
  // kube-oidc-proxy's manifests give flags only (command: ["kube-oidc-proxy"], or args replacing
  // the image's `serve`): those run serve with kube-oidc-proxy's defaults, as does the
  // kube-oidc-proxy executable (kube-oidc-proxy.ts), which arrives here as "kube-oidc-proxy".
  if (first === "kube-oidc-proxy") return runKubeOidcProxy(rest);
  if (first?.startsWith("-") && !["--help", "-h", "--version"].includes(first)) {
    return runKubeOidcProxy(argv);
  }
  if (first === undefined || first === "help" || first === "--help" || first === "-h") {
    const topic = first === "help" ? commands.find((c) => c.name === rest[0]) : undefined;
    io.stdout(`${topic ? (await topic.load()).help : usage()}\n`);
    return 0;
  }
  if (first === "--version" || first === "version") {
    io.stdout(`${packageVersion()}\n`);
    return 0;
  }
  const entry = commands.find((c) => c.name === first);
  if (!entry) {
    io.stderr(`kube-oidc-gateway: unknown command ${JSON.stringify(first)}\n\n${usage()}\n`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout(`${command.help}\n`);
    return 0;
  }
  return command.run(rest, {
    stdout: io.stdout,
    stderr: io.stderr,
    stdin: io.stdin ?? process.stdin,
    env: io.env ?? process.env,
    interactive: io.interactive ?? (io === processIo && process.stderr.isTTY === true),
  });
}

/**
 * Whether the module of `meta` is the program Node was started with (`script`, process.argv[1]).
 * import.meta.main says so from Node 22.18 and 24.2; Node 23 and 24.0-24.1, which engines allow,
 * lack it, and there the test that ran main() alone did nothing: serve --workers runs this file
 * in each worker, and the package's executables ran it. Without it: the script's real path is
 * this module's (Node resolves the main module's symlinks, as npm's bin links are).
 */
export function isProgram(
  meta: { readonly main?: boolean; readonly url: string },
  script: string | undefined,
): boolean {
  if (typeof meta.main === "boolean") return meta.main;
  if (script === undefined) return false;
  try {
    return realpathSync(script) === fileURLToPath(meta.url);
  } catch {
    return false;
  }
}

// Run directly (`node src/cli/main.ts`, serve --workers's workers, an old entrypoint naming
// dist/cli/main.js): as the executables (kube-oidc-gateway.ts) do, an older Node is refused in one
// line, though only after this module's imports were loaded.
if (isProgram(import.meta, process.argv[1])) {
  requireSupportedNode("kube-oidc-gateway");
  // Exit explicitly: after a graceful stop, a half-open client connection must not keep the
  // process (and a terminating pod) alive.
  process.exit(await main(process.argv.slice(2)));
}
