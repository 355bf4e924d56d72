// `kube-oidc-gateway serve` as a child process, as the CLI runs in a pod: for tests of what only
// a real process shows (its log lines on stderr, signals, --workers, the modules it loads). The
// in-process gateway (startTestGateway in gateway.ts) serves every other test.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { type GatewayCredentials, gatewayFlags } from "./gateway.ts";
import { waitFor } from "./http.ts";
import { repoRoot } from "./paths.ts";
import { freePort } from "./ports.ts";

export interface ServeAddress {
  /** gatewayFlags with a fixed free --secure-port instead of 0: a child cannot tell its port back. */
  readonly flags: string[];
  readonly port: number;
  readonly url: string;
  readonly healthUrl: string;
}

/** The bed's gateway flags for a child process, and where that child will answer. */
export async function serveChildFlags(credentials: GatewayCredentials, oidc: string[]): Promise<ServeAddress> {
  const port = await freePort();
  const flags = (await gatewayFlags(credentials, oidc)).map((f) =>
    f === "--secure-port=0" ? `--secure-port=${port}` : f,
  );
  const healthPort = flags.find((f) => f.startsWith("--health-port="))?.split("=")[1];
  return { flags, port, url: `https://127.0.0.1:${port}`, healthUrl: `http://127.0.0.1:${healthPort}` };
}

export interface ServeChild extends Omit<ServeAddress, "flags"> {
  readonly child: ChildProcess;
  /** Every complete stderr line so far, as written. */
  readonly lines: string[];
  /** Everything written to stderr so far (for assertion messages). */
  stderr(): string;
  /** The exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** Sends `signal` (SIGTERM) and resolves with the exit code; SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
}

export interface ServeChildOptions {
  readonly credentials: GatewayCredentials;
  /** The issuer flags (e.g. bedOidcFlags(bed), or an --authentication-config). */
  readonly oidc: string[];
  /** More serve flags, after the bed's. */
  readonly extra?: readonly string[];
  /** Added to this process's environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** Flags for node itself, before the script (e.g. --import of a loader hook). */
  readonly nodeArgs?: readonly string[];
  /** How long to wait for /readyz (default 60 s). */
  readonly readyTimeoutMs?: number;
}

/** Starts `serve` from the sources and resolves once its /readyz answers 200. */
export async function startServeChild(options: ServeChildOptions): Promise<ServeChild> {
  const { flags, port, url, healthUrl } = await serveChildFlags(options.credentials, options.oidc);
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), join(repoRoot, "src", "cli", "main.ts"), "serve", ...flags, ...(options.extra ?? [])],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...options.env } },
  );
  const lines: string[] = [];
  let partial = "";
  const text = () => [...lines, partial].join("\n");
  child.stderr?.on("data", (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split("\n");
    partial = parts.pop() ?? "";
    lines.push(...parts);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const stop = async (signal: NodeJS.Signals = "SIGTERM", graceMs = 30_000) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    }
    return exited;
  };
  const served: ServeChild = { child, port, url, healthUrl, lines, stderr: text, exited, stop };
  try {
    let gone = false;
    await Promise.race([
      waitFor(
        "serve's readiness",
        async () => gone || (await fetch(`${healthUrl}/readyz`).catch(() => undefined))?.status === 200,
        { timeoutMs: options.readyTimeoutMs ?? 60_000 },
      ),
      // A serve that exits (a flag it refuses, a port in use) fails the start at once.
      exited.then((code) => {
        gone = true;
        throw new Error(`serve exited ${code} before it was ready`);
      }),
    ]);
  } catch (error) {
    await stop("SIGKILL");
    throw new Error(`${(error as Error).message}\nserve's stderr:\n${text()}`);
  }
  return served;
}
