// Running the renderers lint hands charts and kustomizations to (helm, kustomize, kubectl): found
// on the PATH of the environment lint runs in, run without a shell, their output capped at the
// size lint reads from any input, and their commands printed so a user can run them by hand.
import { spawn } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import type { ManifestSource } from "../manifests.ts";

/** The executable `name` on `env.PATH` (the first one, as a shell finds it), or undefined. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const folder of (env.PATH ?? "").split(delimiter)) {
    // An empty PATH entry means the working directory to a shell; lint does not run what happens
    // to lie there.
    if (folder === "" || !isAbsolute(folder)) continue;
    const candidate = join(folder, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

export interface ToolResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Set when the output passed `maxBytes` or the time ran out: the run was stopped. */
  readonly stopped?: string;
}

/** Runs `binary args`, collecting at most `maxBytes` of standard output. Never rejects on exit code. */
export function runTool(
  binary: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  maxBytes: number,
  timeoutMs = 120_000,
): Promise<ToolResult> {
  return new Promise((resolve) => {
    const child = spawn(binary, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let stopped: string | undefined;
    const stop = (why: string) => {
      stopped ??= why;
      child.kill("SIGKILL");
    };
    const timer = setTimeout(() => stop(`it ran longer than ${timeoutMs / 1000} s`), timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) stop(`its output passed ${maxBytes / 1024 / 1024} MiB, the most lint reads`);
      else out.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      if (err.reduce((n, b) => n + b.length, 0) < 64 * 1024) err.push(chunk);
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ code: null, stdout: "", stderr: error.message });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        ...(stopped ? { stopped } : {}),
      });
    });
  });
}

/** `args` as one line a POSIX shell reads back as the same words. */
export function shellLine(args: readonly string[]): string {
  return args.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`)).join(" ");
}

/** The last non-empty lines of a tool's standard error, on one line, for a finding's message. */
export function errorSummary(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    // helm's hint after every template error, not part of the error.
    .filter((l) => l !== "" && !l.startsWith("Use --debug flag"));
  return lines.slice(-3).join(" ") || "no message";
}

/** What a renderer returns when it could not render: one source holding the unread-input problem. */
export function unrendered(file: string, message: string, fix: string): ManifestSource[] {
  return [{ file, text: "", problem: { message, fix } }];
}
