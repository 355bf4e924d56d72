// Puts kube-oidc-gateway in front of the bed's kube-apiserver the way a cluster would: a
// ServiceAccount whose only rights are impersonation (and nothing else), its token in a file
// referenced by a kubeconfig, and a serving certificate from the bed's CA.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadServeConfig } from "../src/config/serve-config.ts";
import { createLogger, type Logger } from "../src/observability/logger.ts";
import { type Gateway, startGateway } from "../src/server/gateway.ts";
import type { TestBed } from "./bed.ts";
import { waitFor } from "./http.ts";
import { clients } from "./issuer/oidc-provider.ts";
import { freePort } from "./ports.ts";

export const gatewayServiceAccount = { namespace: "kube-system", name: "kube-oidc-gateway" };
/** The username the API server gives the gateway's ServiceAccount. */
export const gatewayTokenSubject = `system:serviceaccount:${gatewayServiceAccount.namespace}:${gatewayServiceAccount.name}`;

// The chart's ClusterRole (issue #9) must grant no more than this.
const impersonatorRbac = `
apiVersion: v1
kind: ServiceAccount
metadata: {name: ${gatewayServiceAccount.name}, namespace: ${gatewayServiceAccount.namespace}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kube-oidc-gateway-impersonator}
rules:
- apiGroups: [""]
  resources: [users, groups, serviceaccounts]
  verbs: [impersonate]
- apiGroups: [authentication.k8s.io]
  resources: ["*"] # uids and userextras/<key>, whatever extra keys a test maps
  verbs: [impersonate]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kube-oidc-gateway-impersonator}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kube-oidc-gateway-impersonator}
subjects:
- {kind: ServiceAccount, name: ${gatewayServiceAccount.name}, namespace: ${gatewayServiceAccount.namespace}}
`;

/** The extra rights of the optional features: only what each needs (the chart grants the same). */
const reviewRbac = {
  tokenreviews: { group: "authentication.k8s.io", feature: "token passthrough" },
  subjectaccessreviews: { group: "authorization.k8s.io", feature: "nested impersonation" },
} as const;

/** Lets the gateway's ServiceAccount create TokenReviews and/or SubjectAccessReviews. */
export async function grantGatewayReviews(bed: TestBed, kinds: readonly (keyof typeof reviewRbac)[]): Promise<void> {
  const documents = kinds.map(
    (kind) => `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kube-oidc-gateway-${kind}}
rules:
- apiGroups: [${reviewRbac[kind].group}]
  resources: [${kind}]
  verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kube-oidc-gateway-${kind}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kube-oidc-gateway-${kind}}
subjects:
- {kind: ServiceAccount, name: ${gatewayServiceAccount.name}, namespace: ${gatewayServiceAccount.namespace}}
`,
  );
  await run(bed, ["apply", "-f", "-"], documents.join("---\n"));
}

export interface GatewayCredentials {
  readonly kubeconfig: string;
  readonly tokenFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

async function run(bed: TestBed, args: string[], input?: string): Promise<string> {
  const result = await bed.kubectl(args, undefined, input);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/** A fresh token for the gateway's ServiceAccount (TokenRequest API). */
export async function gatewayToken(bed: TestBed, extraArgs: string[] = []): Promise<string> {
  return (
    await run(bed, [
      "create",
      "token",
      gatewayServiceAccount.name,
      `--namespace=${gatewayServiceAccount.namespace}`,
      "--duration=1h",
      ...extraArgs,
    ])
  ).trim();
}

/** Creates the gateway's ServiceAccount and RBAC, and writes its kubeconfig and certificate. */
export async function prepareGatewayCredentials(bed: TestBed, name = "gateway"): Promise<GatewayCredentials> {
  if (!bed.apiServer) throw new Error("the gateway needs the bed's kube-apiserver");
  await run(bed, ["apply", "-f", "-"], impersonatorRbac);
  return writeGatewayCredentials(bed, name, bed.apiServer.url, await gatewayToken(bed));
}

/** Writes a kubeconfig for `server` with `token` in a token file, and a serving certificate. */
export async function writeGatewayCredentials(
  bed: TestBed,
  name: string,
  server: string,
  token: string,
): Promise<GatewayCredentials> {
  const dir = join(bed.dir, name);
  await mkdir(dir, { recursive: true });
  const tokenFile = join(dir, "token");
  await writeFile(tokenFile, token, { mode: 0o600 });
  const caFile = join(bed.dir, "ca.crt");
  const kubeconfig = join(dir, "kubeconfig");
  await writeFile(
    kubeconfig,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "bed", cluster: { server, "certificate-authority": caFile } }],
      users: [{ name: "gateway", user: { tokenFile } }],
      contexts: [{ name: "gateway", context: { cluster: "bed", user: "gateway" } }],
      "current-context": "gateway",
    }),
  );
  const serving = await bed.ca.issueLoopbackServer("kube-oidc-gateway");
  const certFile = join(dir, "tls.crt");
  const keyFile = join(dir, "tls.key");
  await writeFile(certFile, serving.certPem);
  await writeFile(keyFile, serving.keyPem, { mode: 0o600 });
  return { kubeconfig, tokenFile, certFile, keyFile, caFile };
}

/** Flags that put the gateway in front of the bed with the bed's oidc-provider as issuer. */
export async function gatewayFlags(credentials: GatewayCredentials, oidc: string[]): Promise<string[]> {
  return [
    "--bind-address=127.0.0.1",
    "--secure-port=0",
    "--health-bind-address=127.0.0.1",
    `--health-port=${await freePort()}`, // 0 would turn the health port off
    `--tls-cert-file=${credentials.certFile}`,
    `--tls-private-key-file=${credentials.keyFile}`,
    `--kubeconfig=${credentials.kubeconfig}`,
    "--shutdown-grace-period=5s",
    // The bed's issuers use the bed's CA; an --authentication-config file carries it inline.
    ...(oidc.some((f) => f.startsWith("--oidc-issuer-url")) ? [`--oidc-ca-file=${credentials.caFile}`] : []),
    ...oidc,
  ];
}

export interface RunningGateway {
  readonly gateway: Gateway;
  readonly url: string;
  readonly healthUrl: string;
  readonly logs: string[];
}

/** Starts the gateway in this process, logs captured for assertions. */
export async function startTestGateway(credentials: GatewayCredentials, oidc: string[]): Promise<RunningGateway> {
  const { config } = loadServeConfig(await gatewayFlags(credentials, oidc), {});
  if (!config) throw new Error("no configuration");
  const logs: string[] = [];
  const logger: Logger = createLogger("debug", (line) => logs.push(line));
  const gateway = await startGateway(config, { logger });
  return {
    gateway,
    url: `https://127.0.0.1:${gateway.address.port}`,
    healthUrl: `http://127.0.0.1:${gateway.healthAddress?.port}`,
    logs,
  };
}

/** Resolves once the gateway's /readyz answers 200 (its issuers are discovered). */
export function gatewayReady(gateway: { readonly healthUrl: string }, timeoutMs = 30_000): Promise<void> {
  return waitFor("the gateway's readiness", async () => (await fetch(`${gateway.healthUrl}/readyz`)).status === 200, {
    timeoutMs,
  });
}

/**
 * The --oidc-* flags that configure the gateway as the bed's API server is configured by default
 * (`defaultJwtAuthenticators`): email username without prefix, groups prefixed "oidc:".
 */
export function bedOidcFlags(bed: TestBed): string[] {
  return [
    `--oidc-issuer-url=${bed.issuer.url}`,
    `--oidc-client-id=${clients.kubernetes.id}`,
    "--oidc-username-claim=email",
    "--oidc-groups-claim=groups",
    "--oidc-groups-prefix=oidc:",
  ];
}

/** Writes an apiserver.config.k8s.io/v1 AuthenticationConfiguration for the gateway; returns its path. */
export async function writeAuthenticationConfig(bed: TestBed, jwt: readonly unknown[]): Promise<string> {
  const file = join(bed.dir, "gateway-authentication-config.json");
  await writeFile(
    file,
    JSON.stringify({ apiVersion: "apiserver.config.k8s.io/v1", kind: "AuthenticationConfiguration", jwt }),
  );
  return file;
}

export interface SessionGatewayOptions {
  /** The gateway's port, fixed in advance: the external URL (and the issuer's redirect URI) names it. */
  readonly port: number;
  /** Default: https://127.0.0.1:<port> */
  readonly externalUrl?: string;
  readonly issuerUrl: string;
  readonly clientId: string;
  readonly clientSecret?: string;
  readonly redisUrl?: string;
  readonly dashboardUrl?: string;
  readonly whoamiPage?: boolean;
  /** --api-port: the bearer API alone at / on a second port (a dashboard's in-cluster client). */
  readonly apiPort?: number;
}

/** Flags that turn on browser sessions, with the cookie and client secrets written to files. */
export async function sessionGatewayFlags(bed: TestBed, options: SessionGatewayOptions): Promise<string[]> {
  const dir = join(bed.dir, "session-secrets");
  await mkdir(dir, { recursive: true });
  const cookieSecretFile = join(dir, "cookie-secret");
  // One secret for every replica of a test: they must open each other's cookies.
  await writeFile(cookieSecretFile, `${"testbed-cookie-secret-".padEnd(48, "x")}\n`, { mode: 0o600 });
  const flags = [
    `--secure-port=${options.port}`,
    `--session-client-id=${options.clientId}`,
    `--session-issuer-url=${options.issuerUrl}`,
    `--session-external-url=${options.externalUrl ?? `https://127.0.0.1:${options.port}`}`,
    `--session-cookie-secret-file=${cookieSecretFile}`,
  ];
  if (options.clientSecret) {
    const secretFile = join(dir, "client-secret");
    await writeFile(secretFile, options.clientSecret, { mode: 0o600 });
    flags.push(`--session-client-secret-file=${secretFile}`);
  }
  if (options.redisUrl) flags.push("--session-store=redis", `--session-redis-url=${options.redisUrl}`);
  if (options.dashboardUrl) flags.push(`--dashboard-upstream=${options.dashboardUrl}`);
  if (options.whoamiPage) flags.push("--whoami-page");
  if (options.apiPort !== undefined) flags.push(`--api-port=${options.apiPort}`);
  return flags;
}
