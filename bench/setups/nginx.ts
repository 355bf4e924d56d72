// nginx: Debian's nginx as a plain TLS reverse proxy, the floor of what a proxy costs. It does
// not authenticate: it passes the bearer token through and kube-apiserver validates it. Runs
// in the foreground as an unprivileged user on loopback ports with a generated configuration:
// TLS to the client and to the upstream (verified against the bed's CA), keep-alive upstream,
// Upgrade passed through, no buffering (watches stream).
import { spawnSync } from "node:child_process";
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestCA } from "../../testbed/ca.ts";
import { waitFor } from "../../testbed/http.ts";
import { freePort } from "../../testbed/ports.ts";
import { ensureDebianPackage } from "../lib/debian.ts";
import { childPids, spawnTracked, stopProcess } from "../lib/processes.ts";
import type { Setup } from "./setup.ts";

/** The nginx binary, installed from Debian with apt-get when missing (needs root or sudo). */
export function ensureNginx(log: (line: string) => void): string {
  return ensureDebianPackage("nginx-light", ["/usr/sbin/nginx", "/usr/bin/nginx"], log);
}

export interface NginxOptions {
  readonly ca: TestCA;
  readonly caPem: string;
  readonly upstreams: { static: string; api: string };
  readonly workers: number;
  readonly log: (line: string) => void;
}

export async function startNginx(options: NginxOptions): Promise<Setup> {
  const nginx = ensureNginx(options.log);
  const version = spawnSync(nginx, ["-v"], { encoding: "utf8" }).stderr.trim(); // nginx -v writes to stderr
  const dir = await mkdtemp(join(tmpdir(), "kog-bench-nginx-"));
  await chmod(dir, 0o755);
  for (const sub of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) await mkdir(join(dir, sub), { recursive: true });
  const serving = await options.ca.issueLoopbackServer("nginx");
  await writeFile(join(dir, "tls.crt"), serving.certPem);
  await writeFile(join(dir, "tls.key"), serving.keyPem, { mode: 0o644 }); // throwaway, readable by the worker user
  await writeFile(join(dir, "ca.crt"), options.caPem);
  const ports = { static: await freePort(), api: await freePort() };
  const server = (name: "static" | "api") => `
    server {
      listen 127.0.0.1:${ports[name]} ssl;
      ssl_certificate ${dir}/tls.crt;
      ssl_certificate_key ${dir}/tls.key;
      location / {
        proxy_pass https://${name};
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_ssl_trusted_certificate ${dir}/ca.crt;
        proxy_ssl_verify on;
        proxy_ssl_name localhost;
        proxy_ssl_session_reuse on;
        proxy_buffering off;
        proxy_request_buffering off;
        proxy_read_timeout 3600s;
        proxy_send_timeout 3600s;
      }
    }`;
  const hostPort = (url: string) => new URL(url).host;
  const config = `
daemon off;
master_process on;
worker_processes ${options.workers};
worker_rlimit_nofile 20000;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 16000; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  upstream static { server ${hostPort(options.upstreams.static)}; keepalive 256; keepalive_requests 1000000; }
  upstream api { server ${hostPort(options.upstreams.api)}; keepalive 256; keepalive_requests 1000000; }
  ${server("static")}
  ${server("api")}
}
`;
  const configFile = join(dir, "nginx.conf");
  await writeFile(configFile, config);
  // Unprivileged: as root, drop to nobody for the whole process tree (not just the workers).
  const asRoot = process.getuid?.() === 0;
  const ids = asRoot ? { uid: 65534, gid: 65534 } : {};
  if (asRoot)
    for (const sub of ["", "body", "proxy", "fastcgi", "uwsgi", "scgi"]) await chown(join(dir, sub), 65534, 65534);
  const child = spawnTracked(nginx, ["-e", "stderr", "-p", dir, "-c", configFile], { ...ids });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const pids = () => (child.pid ? [child.pid, ...childPids(child.pid)] : []);
  try {
    await waitFor(
      "nginx to listen",
      async () => {
        if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}: ${stderr}`);
        const res = await fetch(`http://127.0.0.1:${ports.static}/`).catch(() => undefined);
        return res !== undefined; // an HTTP request to a TLS port gets a 400: it is listening
      },
      { timeoutMs: 15_000 },
    );
  } catch (error) {
    await stopProcess(child);
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  return {
    name: "nginx",
    endpoints: {
      static: { url: `https://127.0.0.1:${ports.static}`, pids },
      api: { url: `https://127.0.0.1:${ports.api}`, pids },
    },
    allPids: pids,
    description: `${version.replace("nginx version: ", "")}, ${options.workers} worker(s), TLS both sides, keepalive upstream`,
    stop: async () => {
      await stopProcess(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
