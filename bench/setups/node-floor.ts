// node-floor: a minimal Node.js proxy (bench/lib/node-floor-proxy.ts: Node's HTTPS server and
// client, keep-alive upstream, nothing else), one process per upstream like the
// gateway, run by the project's Node. It passes the bearer token through, as nginx does, and
// kube-apiserver validates it. Set beside nginx it splits the gateway's distance from nginx
// into Node's share (floor ÷ nginx) and the gateway's own (gateway ÷ floor).
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestCA } from "../../testbed/ca.ts";
import { spawnTracked, stopProcess, waitForLine } from "../lib/processes.ts";
import type { Setup } from "./setup.ts";

export async function startNodeFloor(
  ca: TestCA,
  caPem: string,
  dir: string,
  upstreams: { static: string; api: string },
): Promise<Setup> {
  const serving = await ca.issueLoopbackServer("node-floor");
  const files = {
    cert: join(dir, "node-floor.crt"),
    key: join(dir, "node-floor.key"),
    ca: join(dir, "node-floor-ca.crt"),
  };
  await writeFile(files.cert, serving.certPem);
  await writeFile(files.key, serving.keyPem, { mode: 0o600 });
  await writeFile(files.ca, caPem);
  const start = async (upstream: string) => {
    const child = spawnTracked(process.execPath, [
      join(import.meta.dirname, "..", "lib", "node-floor-proxy.ts"),
      files.cert,
      files.key,
      files.ca,
      upstream,
    ]);
    const port = (await waitForLine(child, /listening (\d+)/))[1];
    return { child, url: `https://127.0.0.1:${port}` };
  };
  const [forStatic, forApi] = await Promise.all([start(upstreams.static), start(upstreams.api)]);
  const pid = (child: typeof forStatic.child) => () => (child.pid ? [child.pid] : []);
  return {
    name: "node-floor",
    endpoints: {
      static: { url: forStatic.url, pids: pid(forStatic.child) },
      api: { url: forApi.url, pids: pid(forApi.child) },
    },
    allPids: () => [...pid(forStatic.child)(), ...pid(forApi.child)()],
    description: `a minimal Node.js HTTPS proxy (node ${process.version}: its https server and keep-alive client, nothing else; run from TypeScript, so its RSS includes type stripping), one process per upstream`,
    stop: async () => {
      await Promise.all([stopProcess(forStatic.child), stopProcess(forApi.child)]);
    },
  };
}
