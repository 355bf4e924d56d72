// Starts the real kube-apiserver (k8s.io/kubernetes' own command, embedded etcd) on loopback
// with RBAC on, anonymous access off, an admin token, ServiceAccount keys, an
// AuthenticationConfiguration for the bed's issuers and an audit log the tests can read.
import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestCA } from "./ca.ts";
import { httpsRequest, waitFor } from "./http.ts";
import type { KubeBinaries } from "./kube-binaries.ts";
import { freePort } from "./ports.ts";

/** One `jwt` entry of apiserver.config.k8s.io/v1 AuthenticationConfiguration. */
export interface JwtAuthenticator {
  readonly issuer: { readonly url: string; readonly [field: string]: unknown };
  readonly [field: string]: unknown;
}

export interface KubeApiServerOptions {
  readonly binaries: KubeBinaries;
  readonly ca: TestCA;
  /** A folder of this run: configuration, keys, etcd data and logs go below it. */
  readonly dir: string;
  /** The JWT authenticators of the AuthenticationConfiguration (none: no OIDC). */
  readonly jwt: readonly JwtAuthenticator[];
  /**
   * kube-apiserver's legacy --oidc-* flags instead of the AuthenticationConfiguration (the two
   * are mutually exclusive): differential tests give the API server the gateway's own flags.
   */
  readonly oidcFlags?: readonly string[];
  readonly extraArgs?: readonly string[];
  /**
   * An audit.k8s.io/v1 Policy written to --audit-policy-file instead of the default one (Metadata
   * for everything, RequestReceived omitted): the audit differential gives the API server the
   * gateway's own policy. Written as given, not checked here: kube-apiserver validates it.
   */
  readonly auditPolicy?: unknown;
  readonly log?: (line: string) => void;
}

/** One line of the audit log (audit.k8s.io/v1 Event); only the fields tests read are typed. */
export interface AuditEvent {
  readonly auditID: string;
  readonly stage: string;
  readonly verb: string;
  readonly requestURI: string;
  readonly user: { username: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  readonly impersonatedUser?: { username: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  readonly responseStatus?: { code: number };
  readonly [field: string]: unknown;
}

export interface KubeApiServer {
  readonly url: string;
  readonly caPem: string;
  /** Bearer token of the `admin` user in group system:masters. */
  readonly adminToken: string;
  /** A kubeconfig for the admin user. */
  readonly adminKubeconfig: string;
  readonly auditLogPath: string;
  readonly logPath: string;
  /** The current process's id (a new one after `resume()`). */
  readonly pid: number;
  readonly port: number;
  auditEvents(): Promise<AuditEvent[]>;
  /** Stops the process but keeps its port, configuration and etcd data for `resume()` (fault tests). */
  halt(): Promise<void>;
  /** Starts a halted server again on the same port; resolves once /readyz answers ok. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export function kubeconfig(options: { server: string; caPem: string; user: string; token: string }): string {
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "testbed",
          cluster: {
            server: options.server,
            "certificate-authority-data": Buffer.from(options.caPem).toString("base64"),
          },
        },
      ],
      users: [{ name: options.user, user: { token: options.token } }],
      contexts: [{ name: options.user, context: { cluster: "testbed", user: options.user } }],
      "current-context": options.user,
    },
    null,
    2,
  );
}

// Metadata for everything: who asked, as whom (impersonatedUser), which URI, which status.
const defaultAuditPolicy = {
  apiVersion: "audit.k8s.io/v1",
  kind: "Policy",
  omitStages: ["RequestReceived"],
  rules: [{ level: "Metadata" }],
};

async function writeConfiguration(options: KubeApiServerOptions, adminToken: string) {
  const { dir, ca } = options;
  await mkdir(dir, { recursive: true });
  const file = (name: string) => join(dir, name);
  const serving = await ca.issueLoopbackServer("kube-apiserver", [
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
  ]);
  const serviceAccount = generateKeyPairSync("rsa", { modulusLength: 2048 });
  await Promise.all([
    writeFile(file("ca.crt"), ca.certPem),
    writeFile(file("serving.crt"), serving.certPem),
    writeFile(file("serving.key"), serving.keyPem, { mode: 0o600 }),
    writeFile(file("sa.key"), serviceAccount.privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 }),
    writeFile(file("sa.pub"), serviceAccount.publicKey.export({ type: "spki", format: "pem" })),
    // token,user,uid,"group1,group2" (kube-apiserver --token-auth-file format)
    writeFile(file("tokens.csv"), `${adminToken},admin,admin-uid,"system:masters"\n`, { mode: 0o600 }),
    writeFile(file("audit-policy.json"), JSON.stringify(options.auditPolicy ?? defaultAuditPolicy)),
    writeFile(
      file("authentication-config.json"),
      JSON.stringify({
        apiVersion: "apiserver.config.k8s.io/v1",
        kind: "AuthenticationConfiguration",
        jwt: options.jwt,
      }),
    ),
  ]);
  return file;
}

/** Starts kube-apiserver and resolves once /readyz answers ok. */
export async function startKubeApiServer(options: KubeApiServerOptions): Promise<KubeApiServer> {
  const log = options.log ?? (() => {});
  const adminToken = randomBytes(24).toString("base64url");
  const file = await writeConfiguration(options, adminToken);
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const args = [
    `--etcd-dir=${file("etcd")}`,
    "--exit-on-stdin-eof",
    "--",
    "--bind-address=127.0.0.1",
    `--secure-port=${port}`,
    `--cert-dir=${file("certs")}`,
    `--tls-cert-file=${file("serving.crt")}`,
    `--tls-private-key-file=${file("serving.key")}`,
    `--client-ca-file=${file("ca.crt")}`,
    "--anonymous-auth=false",
    `--token-auth-file=${file("tokens.csv")}`,
    ...(options.oidcFlags ?? [`--authentication-config=${file("authentication-config.json")}`]),
    "--authorization-mode=RBAC",
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${file("sa.pub")}`,
    `--service-account-signing-key-file=${file("sa.key")}`,
    "--service-cluster-ip-range=10.96.0.0/16",
    // Nothing routes to this address: the bed has no Service network and no endpoints.
    "--advertise-address=127.0.0.1",
    "--endpoint-reconciler-type=none",
    `--audit-log-path=${file("audit.log")}`,
    `--audit-policy-file=${file("audit-policy.json")}`,
    "--audit-log-format=json",
    "--audit-log-mode=blocking",
    "--profiling=false",
    ...(options.extraArgs ?? []),
  ];
  const logPath = file("kube-apiserver.log");
  const logStream = createWriteStream(logPath);
  let child: ChildProcess;
  let exited: Promise<number | null>;

  const launch = async () => {
    const proc = spawn(options.binaries.kubeApiserver, args, {
      cwd: options.dir,
      // stdin stays an open pipe: when this process dies, the server sees EOF and exits.
      stdio: ["pipe", "pipe", "pipe"],
    });
    child = proc;
    proc.stdout?.pipe(logStream, { end: false });
    proc.stderr?.pipe(logStream, { end: false });
    exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
    let running = true;
    void exited.then(() => {
      running = false;
    });

    log(`testbed: starting kube-apiserver ${options.binaries.version} on ${url}`);
    const started = Date.now();
    try {
      await waitFor(
        "kube-apiserver /readyz",
        async () => {
          if (!running) throw new Error(`kube-apiserver exited early; see ${logPath}`);
          const res = await httpsRequest(`${url}/readyz`, {
            ca: options.ca.certPem,
            headers: { authorization: `Bearer ${adminToken}` },
            timeoutMs: 5000,
          });
          return res.status === 200;
        },
        { timeoutMs: 180_000, intervalMs: 500 },
      );
    } catch (error) {
      await stopProcess(proc, exited);
      const tail = (await readFile(logPath, "utf8").catch(() => "")).split("\n").slice(-30).join("\n");
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}\n--- kube-apiserver log tail ---\n${tail}`,
      );
    }
    log(`testbed: kube-apiserver ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  };
  await launch();

  const adminKubeconfig = file("admin.kubeconfig");
  await writeFile(
    adminKubeconfig,
    kubeconfig({ server: url, caPem: options.ca.certPem, user: "admin", token: adminToken }),
    {
      mode: 0o600,
    },
  );
  return {
    url,
    port,
    caPem: options.ca.certPem,
    adminToken,
    adminKubeconfig,
    auditLogPath: file("audit.log"),
    logPath,
    get pid() {
      return child.pid ?? -1;
    },
    auditEvents: async () =>
      (await readFile(file("audit.log"), "utf8"))
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as AuditEvent),
    halt: () => stopProcess(child, exited),
    resume: async () => {
      if (child.exitCode === null && child.signalCode === null) throw new Error("kube-apiserver is running");
      await launch();
    },
    stop: async () => {
      await stopProcess(child, exited);
      logStream.end();
    },
  };
}

/** SIGTERM, then SIGKILL if the process has not exited within the grace period. */
export async function stopProcess(child: ChildProcess, exited: Promise<unknown>, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
