// A real Redis server for the shared session store: Debian's redis-server on loopback, no
// persistence, under the supervisor so it ends with the test process.
import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createConnection } from "node:net";
import { join } from "node:path";
import { waitFor } from "./http.ts";
import { freePort } from "./ports.ts";
import { spawnSupervised } from "./supervise.ts";

export const redisServerPath = "/usr/bin/redis-server";

/**
 * redis-server's `--user` directive, one argument per rule: on, the password, the session store's
 * keys and channel (prefix kog:), and `commands` (e.g. redisAclCommands.standalone).
 */
export function redisAclUserArgs(name: string, password: string, commands: readonly string[]): string[] {
  return ["--user", name, "on", `>${password}`, "~kog:*", "&kog:*", ...commands.map((command) => `+${command}`)];
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** The redis-server process itself (not its supervisor), e.g. to SIGKILL it in a failover test. */
  readonly pid: number;
  stop(): Promise<void>;
}

/** Certificate files for redis-server's TLS port (written under the server's dir). */
export interface RedisTls {
  readonly certPem: string;
  readonly keyPem: string;
  readonly caPem: string;
  /**
   * A client certificate for the server's own outgoing connections. Required for a Cluster over
   * TLS: the cluster bus always asks the connecting node for a certificate (tls-auth-clients
   * applies to clients only), and a serving certificate's serverAuth-only key usage is refused
   * as a client's; redis-server presents tls-client-cert-file there (Redis 7.0 redis.conf).
   */
  readonly client?: { readonly certPem: string; readonly keyPem: string };
}

/**
 * Starts `binary` (redis-server or redis-sentinel) with `args` under the supervisor and waits
 * until `port` accepts connections. TLS files, when given, are written to `dir` and the server
 * listens with TLS only (`--port 0 --tls-port`), replicating and gossiping over TLS too.
 */
export async function startRedisProcess(options: {
  binary?: string;
  name: string;
  dir: string;
  port: number;
  args: readonly string[];
  tls?: RedisTls;
  log?: (line: string) => void;
}): Promise<RedisServer> {
  const binary = options.binary ?? redisServerPath;
  if (!existsSync(binary)) {
    throw new Error(`${binary} not found: install Debian's redis-server and redis-sentinel (.ci/run does)`);
  }
  await mkdir(options.dir, { recursive: true });
  const tlsArgs: string[] = [];
  if (options.tls) {
    const file = (name: string, text: string) => {
      const path = join(options.dir, name);
      writeFileSync(path, text, { mode: 0o600 });
      return path;
    };
    tlsArgs.push(
      "--port",
      "0",
      "--tls-port",
      String(options.port),
      "--tls-cert-file",
      file("tls.crt", options.tls.certPem),
      "--tls-key-file",
      file("tls.key", options.tls.keyPem),
      "--tls-ca-cert-file",
      file("ca.crt", options.tls.caPem),
      "--tls-auth-clients",
      "no",
      "--tls-replication",
      "yes",
    );
    if (options.tls.client) {
      tlsArgs.push(
        "--tls-client-cert-file",
        file("client.crt", options.tls.client.certPem),
        "--tls-client-key-file",
        file("client.key", options.tls.client.keyPem),
      );
    }
  }
  const portArgs = options.tls ? tlsArgs : ["--port", String(options.port)];
  const server = spawnSupervised(binary, [...options.args, ...portArgs, "--bind", "127.0.0.1", "--dir", options.dir], {
    cwd: options.dir,
    env: process.env,
  });
  const output: string[] = [];
  server.child.stdout?.on("data", (c: Buffer) => output.push(c.toString()));
  server.child.stderr?.on("data", (c: Buffer) => output.push(c.toString()));
  let exited = false;
  void server.exited.then(() => {
    exited = true;
  });
  try {
    await waitFor(
      options.name,
      async () => {
        if (exited) throw new Error(`${options.name} exited:\n${output.join("")}`);
        return new Promise<boolean>((resolve) => {
          const socket = createConnection({ host: "127.0.0.1", port: options.port }, () => {
            socket.end();
            resolve(true);
          });
          socket.on("error", () => resolve(false));
        });
      },
      { timeoutMs: 15_000 },
    );
  } catch (error) {
    await server.stop(2_000);
    throw error;
  }
  // The supervisor (bash) runs the server as its only child.
  const pid = Number(
    execFileSync("pgrep", ["-P", String(server.child.pid)], { encoding: "utf8" })
      .trim()
      .split("\n")[0],
  );
  options.log?.(`testbed: ${options.name} on 127.0.0.1:${options.port}`);
  const scheme = options.tls ? "rediss" : "redis";
  return { url: `${scheme}://127.0.0.1:${options.port}`, port: options.port, pid, stop: () => server.stop(5_000) };
}

export async function startRedis(options: {
  dir: string;
  /** A fixed port, e.g. to restart Redis where clients expect it; default: a free one. */
  port?: number;
  /** Extra redis-server arguments, e.g. `--user` lines for ACL users. */
  args?: readonly string[];
  tls?: RedisTls;
  log?: (line: string) => void;
}): Promise<RedisServer> {
  return startRedisProcess({
    name: "redis-server",
    dir: options.dir,
    port: options.port ?? (await freePort()),
    args: ["--save", "", "--appendonly", "no", ...(options.args ?? [])],
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
}
