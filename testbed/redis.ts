// A real Redis server for the shared session store: Debian's redis-server on loopback, no
// persistence, under the supervisor so it ends with the test process.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createConnection } from "node:net";
import { waitFor } from "./http.ts";
import { freePort } from "./ports.ts";
import { spawnSupervised } from "./supervise.ts";

export const redisServerPath = "/usr/bin/redis-server";

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startRedis(options: {
  dir: string;
  /** A fixed port, e.g. to restart Redis where clients expect it; default: a free one. */
  port?: number;
  log?: (line: string) => void;
}): Promise<RedisServer> {
  if (!existsSync(redisServerPath)) {
    throw new Error(`${redisServerPath} not found: install Debian's redis-server (.ci/run does)`);
  }
  await mkdir(options.dir, { recursive: true });
  const port = options.port ?? (await freePort());
  const server = spawnSupervised(
    redisServerPath,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", options.dir],
    { cwd: options.dir, env: process.env },
  );
  const output: string[] = [];
  server.child.stdout?.on("data", (c: Buffer) => output.push(c.toString()));
  server.child.stderr?.on("data", (c: Buffer) => output.push(c.toString()));
  let exited = false;
  void server.exited.then(() => {
    exited = true;
  });
  try {
    await waitFor(
      "redis-server",
      async () => {
        if (exited) throw new Error(`redis-server exited:\n${output.join("")}`);
        return new Promise<boolean>((resolve) => {
          const socket = createConnection({ host: "127.0.0.1", port }, () => {
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
  options.log?.(`testbed: redis-server on 127.0.0.1:${port}`);
  return { url: `redis://127.0.0.1:${port}`, port, stop: () => server.stop(5_000) };
}
