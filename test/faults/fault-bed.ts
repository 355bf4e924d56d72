// Shared parts of the fault tests and the soak: a bed with the gateway's credentials and a
// user allowed to read and write ConfigMaps, the gateway as a child process
// (`node src/cli/main.ts serve …`, as it runs in a pod), tokens minted for the bed's issuer,
// and a small HTTPS client that reports what happened to every request.
import assert from "node:assert/strict";
import * as https from "node:https";
import { startTestBed, type TestBed, type TestBedOptions } from "../../testbed/bed.ts";
import { bedOidcFlags, type GatewayCredentials, prepareGatewayCredentials } from "../../testbed/gateway.ts";
import { clients } from "../../testbed/issuer/oidc-provider.ts";
import { idTokenClaims, type MintOptions, mintJwt } from "../../testbed/issuer/raw-signer.ts";
import { type ServeChild, startServeChild } from "../../testbed/serve-child.ts";

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

/** The gateway as a child process (testbed/serve-child.ts): its URLs, stderr, exit and stop. */
export type GatewayProcess = ServeChild;

/** Starts `kube-oidc-gateway serve` as a child process in front of the bed; resolves once ready. */
export function spawnGateway(
  { bed, credentials }: FaultBed,
  extraFlags: readonly string[] = [],
): Promise<GatewayProcess> {
  return startServeChild({ credentials, oidc: bedOidcFlags(bed), extra: extraFlags, readyTimeoutMs: 30_000 });
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
