// The gateway's own connection to the Kubernetes API server: from a kubeconfig, or in-cluster
// (KUBERNETES_SERVICE_HOST/PORT, the ServiceAccount token and ca.crt), like client-go's
// rest.InClusterConfig. Token files are re-read when they change (kubelet rotates projected
// ServiceAccount tokens), in the background, so the request path only reads a string.
import { readFileSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import * as https from "node:https";
import { dirname, resolve } from "node:path";
import { ConfigError, unreadableFile } from "../config/errors.ts";
import { parseYaml } from "../config/lazy-libraries.ts";
import type { UpstreamClientFlags } from "../config/serve-config.ts";
import {
  type UpstreamExchange,
  type UpstreamRequest,
  type UpstreamTls,
  viaHttp1,
  viaHttp2,
  viaUpgrade,
} from "./exchange.ts";
import { Http2Sessions } from "./http2-sessions.ts";
import { withLimits } from "./limits.ts";

const defaultServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface UpstreamOptions {
  /** Empty: in-cluster. */
  readonly kubeconfig: string;
  readonly extraCaFile: string;
  /**
   * kubectl's client flags (--server, --token, --context, …), over the kubeconfig or in-cluster
   * credentials as client-go's ConfigOverrides are.
   */
  readonly client?: UpstreamClientFlags;
  readonly env?: NodeJS.ProcessEnv;
  /** Where in-cluster credentials are mounted (tests point it elsewhere). */
  readonly serviceAccountDir?: string;
  /**
   * A bearer token obtained by running the kubeconfig's exec plugin (see exec-credential.ts);
   * only `doctor` passes one. Without it an exec user is refused: the gateway's own credentials
   * must not depend on a program that may prompt or expire.
   */
  readonly execToken?: string;
  /**
   * Which proxied requests go as HTTP/2 streams over shared connections (what client-go does):
   * long-running ones (watches), all, or none (off, the default here). HTTP/1.1 keep-alive for
   * the rest, and whenever the API server does not offer h2.
   */
  readonly http2?: "watches" | "all" | "off";
  /** Told once when HTTP/2 was asked for and the API server speaks only HTTP/1.1. */
  readonly onHttp1Only?: () => void;
  /** Counts the open HTTP/2 connections (a metrics gauge). */
  readonly http2ConnectionGauge?: { inc(): void; dec(): void };
  readonly onTokenReloaded?: (file: string) => void;
  readonly onTokenReloadFailed?: (file: string, error: Error) => void;
}

interface Credentials {
  readonly server: string;
  readonly ca?: string;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly cert?: string;
  readonly key?: string;
}

type Named<T> = { name: string } & T;

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw unreadableFile("UPSTREAM_FILE_UNREADABLE", what, path, error);
  }
}

/** The current context's user entry of a kubeconfig (for its exec plugin), or undefined. */
export function kubeconfigUser(path: string): Record<string, unknown> | undefined {
  const doc = readKubeconfig(path);
  const context = doc.contexts?.find((c) => c.name === doc["current-context"])?.context;
  return doc.users?.find((u) => u.name === context?.user)?.user;
}

interface Kubeconfig {
  "current-context"?: string;
  contexts?: Named<{ context: { cluster: string; user: string } }>[];
  clusters?: Named<{ cluster: Record<string, string | boolean> }>[];
  users?: Named<{ user: Record<string, unknown> }>[];
}

function readKubeconfig(path: string): Kubeconfig {
  try {
    return (parseYaml(readText(path, "--kubeconfig")) ?? {}) as Kubeconfig;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError("KUBECONFIG_INVALID", `${path}: ${(error as Error).message}`);
  }
}

function fromKubeconfig(path: string, execToken: string | undefined, client: UpstreamClientFlags = {}): Credentials {
  const doc = readKubeconfig(path);
  const base = dirname(resolve(path));
  const file = (p: string) => resolve(base, p);
  // --context, --cluster and --user pick other entries than current-context's (client-go's
  // ConfigOverrides: CurrentContext, Context.Cluster, Context.AuthInfo).
  const contextName = client.context ?? doc["current-context"];
  const named = doc.contexts?.find((c) => c.name === contextName)?.context;
  if (!named && !(client.cluster && client.user))
    throw new ConfigError(
      "KUBECONFIG_INVALID",
      `${path}: ${client.context ? "--context" : "current-context"} ${JSON.stringify(contextName)} not found`,
    );
  const context = { cluster: client.cluster ?? named?.cluster ?? "", user: client.user ?? named?.user ?? "" };
  const cluster = doc.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (client.user && !doc.users?.some((u) => u.name === client.user)) {
    throw new ConfigError("KUBECONFIG_INVALID", `${path}: --user ${JSON.stringify(client.user)} not found`);
  }
  const user = doc.users?.find((u) => u.name === context.user)?.user ?? {};
  if (!cluster || (typeof cluster.server !== "string" && !client.server)) {
    throw new ConfigError(
      "KUBECONFIG_INVALID",
      `${path}: cluster ${JSON.stringify(context.cluster)} ${cluster ? "has no server" : "not found"}`,
    );
  }
  if (cluster["insecure-skip-tls-verify"] === true) {
    throw new ConfigError(
      "KUBECONFIG_INVALID",
      `${path}: insecure-skip-tls-verify is refused: give the API server's CA`,
    );
  }
  if ((user.exec && execToken === undefined) || user["auth-provider"]) {
    throw new ConfigError(
      "KUBECONFIG_INVALID",
      `${path}: exec and auth-provider credentials are not supported; use a token, tokenFile or client certificate`,
    );
  }
  const data = (value: unknown) =>
    typeof value === "string" ? Buffer.from(value, "base64").toString("utf8") : undefined;
  const str = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined);
  const caFile = str(cluster["certificate-authority"]);
  const certFile = str(user["client-certificate"]);
  const keyFile = str(user["client-key"]);
  const tokenFile = str(user.tokenFile);
  return {
    server: String(cluster.server),
    ca:
      data(cluster["certificate-authority-data"]) ??
      (caFile ? readText(file(caFile), "certificate-authority") : undefined),
    token: execToken ?? str(user.token),
    tokenFile: tokenFile ? file(tokenFile) : undefined,
    cert:
      data(user["client-certificate-data"]) ?? (certFile ? readText(file(certFile), "client-certificate") : undefined),
    key: data(user["client-key-data"]) ?? (keyFile ? readText(file(keyFile), "client-key") : undefined),
  };
}

function inCluster(env: NodeJS.ProcessEnv, serviceAccountDir: string): Credentials {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new ConfigError(
      "NOT_IN_CLUSTER",
      "no --kubeconfig given and KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set: run in a pod or pass --kubeconfig",
    );
  }
  return {
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    ca: readText(`${serviceAccountDir}/ca.crt`, "in-cluster CA"),
    tokenFile: `${serviceAccountDir}/token`,
  };
}

/**
 * kubectl's client flags over credentials from a kubeconfig or in-cluster; with --server and no
 * kubeconfig, the flags alone (client-go does not fall back to in-cluster once overridden).
 */
function withClientFlags(credentials: Credentials | undefined, client: UpstreamClientFlags): Credentials {
  const server = client.server ?? credentials?.server;
  if (!server) throw new ConfigError("NOT_IN_CLUSTER", "no API server: give --server or --kubeconfig");
  if ((client.clientCertificate === undefined) !== (client.clientKey === undefined)) {
    throw new ConfigError(
      "INVALID_FLAG_VALUE",
      "--client-certificate and --client-key go together: give both or neither",
    );
  }
  // A credential given by flag replaces the kubeconfig's credentials altogether, as kubectl's
  // --token replaces a kubeconfig user's client certificate.
  const ownCredential = client.token !== undefined || client.clientCertificate !== undefined;
  return {
    server,
    ca: client.certificateAuthority
      ? readText(client.certificateAuthority, "--certificate-authority")
      : credentials?.ca,
    token: ownCredential ? client.token : credentials?.token,
    tokenFile: ownCredential ? undefined : credentials?.tokenFile,
    cert: client.clientCertificate
      ? readText(client.clientCertificate, "--client-certificate")
      : ownCredential
        ? undefined
        : credentials?.cert,
    key: client.clientKey ? readText(client.clientKey, "--client-key") : ownCredential ? undefined : credentials?.key,
  };
}

/**
 * The one client every request to the API server goes through: proxied requests, upgrades and
 * the gateway's own reviews (api-request.ts). It picks the transport and composes the limits
 * (limits.ts) over it, so no caller reaches the API server another way.
 */
export class Upstream {
  readonly url: URL;
  readonly agent: https.Agent;
  readonly #tls: UpstreamTls;
  readonly #http2: Http2Sessions | undefined;
  readonly #http2Everything: boolean;
  readonly #tokenFile: string | undefined;
  #authorization: string | undefined;
  #tokenStamp = "";
  #timer: NodeJS.Timeout | undefined;
  readonly #options: UpstreamOptions;

  constructor(options: UpstreamOptions) {
    this.#options = options;
    const client = options.client ?? {};
    const credentials = withClientFlags(
      options.kubeconfig
        ? fromKubeconfig(options.kubeconfig, options.execToken, client)
        : client.server
          ? undefined
          : inCluster(options.env ?? process.env, options.serviceAccountDir ?? defaultServiceAccountDir),
      client,
    );
    this.url = new URL(credentials.server);
    if (this.url.protocol !== "https:")
      throw new ConfigError("UPSTREAM_INSECURE", `the API server URL must be https: ${credentials.server}`);
    const extraCa = options.extraCaFile ? readText(options.extraCaFile, "--upstream-ca-file") : "";
    const ca = [credentials.ca, extraCa].filter(Boolean).join("\n") || undefined;
    // --tls-server-name: the name the API server's certificate is checked against. Upgrades
    // spread these options into their own connection's; the HTTP/2 sessions pick the URL's host
    // themselves, so with another name every request goes over HTTP/1.1.
    const servername = client.tlsServerName;
    const tlsOptions = { ca, cert: credentials.cert, key: credentials.key, ...(servername ? { servername } : {}) };
    this.#tls = tlsOptions;
    this.agent = new https.Agent({
      keepAlive: true,
      ...tlsOptions,
      scheduling: "lifo",
    });
    this.#http2Everything = options.http2 === "all";
    this.#http2 =
      !servername && (options.http2 === "watches" || options.http2 === "all")
        ? new Http2Sessions({
            url: this.url,
            ca,
            cert: credentials.cert,
            key: credentials.key,
            onHttp1Only: options.onHttp1Only,
            connectionGauge: options.http2ConnectionGauge,
          })
        : undefined;
    this.#tokenFile = credentials.tokenFile;
    if (credentials.token) this.#authorization = `Bearer ${credentials.token}`;
    if (this.#tokenFile) {
      const token = readText(this.#tokenFile, "token file").trim();
      this.#authorization = `Bearer ${token}`;
    }
  }

  /** The gateway's own Authorization header value, if it authenticates with a token. */
  get authorization(): string | undefined {
    return this.#authorization;
  }

  /** Sends a request to the API server, under the limits of limits.ts whatever carries it. */
  send(request: UpstreamRequest): UpstreamExchange {
    return withLimits(this.#transport(request), request);
  }

  #transport(request: UpstreamRequest): UpstreamExchange {
    if (request.upgrade) return viaUpgrade(this.#tls, this.url, request);
    const http1 = () => viaHttp1(this.agent, this.url, request);
    const overHttp2 = this.#http2 && !this.#http2.http1Only && (this.#http2Everything || request.longRunning);
    return overHttp2 && this.#http2 ? viaHttp2(this.#http2, request, http1) : http1();
  }

  /** Starts watching the token file; `intervalMs` bounds how stale a rotated token can be. */
  start(intervalMs = 1000): void {
    if (!this.#tokenFile || this.#timer) return;
    const file = this.#tokenFile;
    this.#timer = setInterval(() => void this.#reloadToken(file), intervalMs);
    this.#timer.unref();
  }

  async #reloadToken(file: string): Promise<void> {
    try {
      const info = await stat(file);
      const stamp = `${info.mtimeMs}:${info.size}:${info.ino}`;
      if (stamp === this.#tokenStamp) return;
      const token = (await readFile(file, "utf8")).trim();
      if (token === "") return; // being rewritten; try again next tick
      const changed = this.#tokenStamp !== "" && `Bearer ${token}` !== this.#authorization;
      this.#tokenStamp = stamp;
      this.#authorization = `Bearer ${token}`;
      if (changed) this.#options.onTokenReloaded?.(file);
    } catch (error) {
      this.#options.onTokenReloadFailed?.(file, error as Error);
    }
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#http2?.close();
    this.agent.destroy();
  }
}
