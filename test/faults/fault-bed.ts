// Shared parts of the fault tests and the soak: a bed with the gateway's credentials and a
// user allowed to read and write ConfigMaps, the gateway as a child process
// (`node src/cli/main.ts serve …`, as it runs in a pod), tokens minted for the bed's issuer,
// and a small HTTPS client that reports what happened to every request.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import * as https from "node:https";
import { join } from "node:path";
import { startTestBed, type TestBed, type TestBedOptions } from "../../testbed/bed.ts";
import {
  bedOidcFlags,
  type GatewayCredentials,
  gatewayFlags,
  prepareGatewayCredentials,
} from "../../testbed/gateway.ts";
import { waitFor } from "../../testbed/http.ts";
import { clients } from "../../testbed/issuer/oidc-provider.ts";
import { idTokenClaims, type MintOptions, mintJwt } from "../../testbed/issuer/raw-signer.ts";
import { freePort } from "../../testbed/ports.ts";

export const user = "jane@example.com";

export interface FaultBed {
  readonly bed: TestBed;
  readonly credentials: GatewayCredentials;
}

/** A bed whose user `jane@example.com` may get, list, watch, create, update and delete ConfigMaps. */
export async function startFaultBed(options: TestBedOptions = {}): Promise<FaultBed> {
  const bed = await startTestBed(options);
  try {
    const credentials = await prepareGatewayCredentials(bed);
    for (const args of [
      [
        "create",
        "clusterrole",
        "configmap-editor",
        "--verb=get,list,watch,create,update,patch,delete",
        "--resource=configmaps",
      ],
      ["create", "clusterrolebinding", "jane-configmaps", "--clusterrole=configmap-editor", `--user=${user}`],
    ]) {
      const result = await bed.kubectl(args);
      assert.equal(result.code, 0, result.stderr);
    }
    return { bed, credentials };
  } catch (error) {
    await bed.stop();
    throw error;
  }
}

/** An RS256 id token for jane from `issuerUrl`, signed with the RSA `key`. */
export function mintToken(
  issuerUrl: string,
  key: MintOptions["key"],
  options: { header?: Record<string, unknown>; ttlSeconds?: number } = {},
): string {
  return mintJwt({
    alg: "RS256",
    key,
    header: options.header,
    claims: idTokenClaims({
      issuer: issuerUrl,
      audience: clients.kubernetes.id,
      subject: "jane-0001",
      expiresInSeconds: options.ttlSeconds ?? 3600,
      extra: { email: user, email_verified: true },
    }),
  });
}

export interface GatewayProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly healthUrl: string;
  readonly exited: Promise<number | null>;
  /** Everything the process wrote to stderr (its JSON log) so far. */
  stderr(): string;
  /** SIGTERM and wait for the exit; SIGKILL if it takes longer than `graceMs`. */
  stop(graceMs?: number): Promise<number | null>;
}

/** Starts `kube-oidc-gateway serve` as a child process in front of the bed; resolves once ready. */
export async function spawnGateway(
  { bed, credentials }: FaultBed,
  extraFlags: readonly string[] = [],
  options: { waitReady?: boolean } = {},
): Promise<GatewayProcess> {
  const port = await freePort();
  const flags = (await gatewayFlags(credentials, bedOidcFlags(bed))).map((f) =>
    f === "--secure-port=0" ? `--secure-port=${port}` : f,
  );
  const healthPort = Number(flags.find((f) => f.startsWith("--health-port="))?.split("=")[1]);
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, "..", "..", "src", "cli", "main.ts"), "serve", ...flags, ...extraFlags],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const gateway: GatewayProcess = {
    child,
    url: `https://127.0.0.1:${port}`,
    healthUrl: `http://127.0.0.1:${healthPort}`,
    exited,
    stderr: () => stderr,
    stop: async (graceMs = 15_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  if (options.waitReady ?? true) {
    try {
      await waitFor(
        "the gateway's readiness",
        async () => {
          if (child.exitCode !== null) throw new Error(`gateway exited: ${stderr}`);
          return (await fetch(`${gateway.healthUrl}/readyz`)).status === 200;
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
    } catch (error) {
      child.kill("SIGKILL");
      throw error;
    }
  }
  return gateway;
}

export interface Outcome {
  /** HTTP status, when a complete response arrived. */
  readonly status?: number;
  readonly body?: string;
  /** Transport error (refused, reset, timeout) when no complete response arrived. */
  readonly error?: NodeJS.ErrnoException;
  /** The request went out on a reused keep-alive connection. */
  readonly reused?: boolean;
  /** Whether the response headers arrived before the error. */
  readonly headersReceived?: boolean;
  readonly ms: number;
}

/** One request; never rejects: the outcome says what happened. */
export function request(
  url: string,
  options: {
    ca: string;
    token?: string;
    method?: string;
    body?: string;
    agent?: https.Agent | false;
    timeoutMs?: number;
  },
): Promise<Outcome> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let headersReceived = false;
    const req = https.request(
      url,
      {
        method: options.method ?? "GET",
        ca: options.ca,
        agent: options.agent ?? false,
        headers: {
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(options.body === undefined
            ? {}
            : { "content-type": "application/json", "content-length": Buffer.byteLength(options.body) }),
        },
      },
      (res) => {
        headersReceived = true;
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          if (!res.complete) {
            resolve({ error: new Error("response ended early"), headersReceived, ms: ms() });
            return;
          }
          resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString("utf8"), ms: ms() });
        });
        res.on("error", (error) => resolve({ error, headersReceived, ms: ms() }));
      },
    );
    req.setTimeout(options.timeoutMs ?? 30_000, () => req.destroy(new Error("client timeout")));
    req.on("error", (error: NodeJS.ErrnoException) =>
      resolve({ error, reused: req.reusedSocket, headersReceived, ms: ms() }),
    );
    req.end(options.body);
  });
}

/** The Status reason of a JSON body, if it is one. */
export function statusReason(body: string | undefined): string | undefined {
  try {
    const parsed = JSON.parse(body ?? "") as { kind?: string; reason?: string };
    return parsed.kind === "Status" ? parsed.reason : undefined;
  } catch {
    return undefined;
  }
}

/** The value of a metric sample line (`name{labels} value`) in a Prometheus text page, summed over matches. */
export function metricValue(page: string, name: string, labelFilter = ""): number {
  let sum = 0;
  for (const line of page.split("\n")) {
    if (line.startsWith("#") || !line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith("{") || rest.startsWith(" "))) continue;
    if (labelFilter && !rest.includes(labelFilter)) continue;
    sum += Number(line.split(" ").at(-1));
  }
  return sum;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
