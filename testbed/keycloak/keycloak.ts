// Starts Keycloak (the issuer the incident ran) from the cached distribution in dev mode:
// HTTPS with the bed's CA on loopback, in-memory database, admin credentials made per run,
// and the bed's realm imported through the admin API once it reports ready.
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestCA } from "../ca.ts";
import { withCacheLock } from "../cache-lock.ts";
import { httpsRequest, waitFor } from "../http.ts";
import { freePort } from "../ports.ts";
import { spawnSupervised } from "../supervise.ts";
import { KeycloakAdmin } from "./admin.ts";
import type { KeycloakDistribution } from "./distribution.ts";

export const keycloakRealm = "kube";

/** Clients of the bed's realm (testbed/keycloak/realm.json). */
export const keycloakClients = {
  /** Confidential; its groups mapper and audience mapper shape the id token the cluster accepts. */
  gateway: { id: "kube-oidc-gateway", secret: "kube-oidc-gateway-client-secret" },
  /** Public browser client, PKCE required. */
  dashboard: { id: "dashboard" },
  /**
   * Headlamp's own login (its -oidc-* flags): confidential, PKCE required, the gateway client's
   * groups and audience mappers, so its id tokens name the cluster's audience.
   */
  headlamp: { id: "headlamp", secret: "headlamp-client-secret" },
} as const;

/** The audience the realm's audience mapper adds to id tokens (not to access tokens). */
export const keycloakClusterAudience = "kubernetes";

export const keycloakUsers = {
  testuser: { username: "testuser", password: "testuser" },
  nogroups: { username: "nogroups", password: "nogroups" },
} as const;

export interface Keycloak {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  /** The realm's issuer URL, as in its tokens' `iss`. */
  readonly issuerUrl: string;
  readonly admin: KeycloakAdmin;
  readonly adminUsername: string;
  readonly pid: number;
  readonly ports: readonly number[];
  readonly logPath: string;
  stop(): Promise<void>;
}

export interface KeycloakOptions {
  readonly dist: KeycloakDistribution;
  readonly ca: TestCA;
  readonly dir: string;
  readonly log?: (line: string) => void;
  /** Readiness deadline; the first start on a machine also augments the distribution. */
  readonly timeoutMs?: number;
}

const realmFile = join(import.meta.dirname, "realm.json");

/**
 * Starts Keycloak. The first start on a machine augments the shared distribution in place
 * (Quarkus build step), so it runs alone under a lock; later starts run side by side.
 */
export async function startKeycloak(options: KeycloakOptions): Promise<Keycloak> {
  const marker = join(options.dist.home, ".testbed-augmented");
  const augmented = () => existsSync(marker);
  if (!augmented()) {
    const first = await withCacheLock(marker, augmented, async () => {
      const keycloak = await launch(options);
      await writeFile(marker, `${new Date().toISOString()}\n`);
      return keycloak;
    });
    if (first) return first;
  }
  return launch(options);
}

async function launch(options: KeycloakOptions): Promise<Keycloak> {
  const log = options.log ?? (() => {});
  const { dir } = options;
  await mkdir(join(dir, "tmp"), { recursive: true });
  const tls = await options.ca.issueLoopbackServer("keycloak");
  await writeFile(join(dir, "tls.crt"), tls.certPem);
  await writeFile(join(dir, "tls.key"), tls.keyPem, { mode: 0o600 });
  await writeFile(join(dir, "ca.crt"), options.ca.certPem);
  const [httpsPort, httpPort, managementPort] = [await freePort(), await freePort(), await freePort()];
  const url = `https://127.0.0.1:${httpsPort}`;
  const adminUsername = "testbed-admin";
  const adminPassword = randomBytes(18).toString("base64url");

  const logPath = join(dir, "keycloak.log");
  const logStream = createWriteStream(logPath);
  const server = spawnSupervised(
    "bash",
    [
      join(options.dist.home, "bin", "kc.sh"),
      "start-dev",
      // Build-time options: keep them fixed, or every start re-augments the distribution.
      "--db=dev-mem",
      "--health-enabled=true",
      // Run-time options.
      "--http-host=127.0.0.1",
      `--http-port=${httpPort}`, // dev mode always opens plain HTTP too; keep it on loopback
      `--https-port=${httpsPort}`,
      `--https-certificate-file=${join(dir, "tls.crt")}`,
      `--https-certificate-key-file=${join(dir, "tls.key")}`,
      `--http-management-port=${managementPort}`,
      `--hostname=${url}`,
      // Trust the bed's CA for Keycloak's own outgoing calls (back-channel logout to the gateway).
      `--truststore-paths=${join(dir, "ca.crt")}`,
    ],
    {
      cwd: dir,
      env: {
        ...process.env,
        KC_BOOTSTRAP_ADMIN_USERNAME: adminUsername,
        KC_BOOTSTRAP_ADMIN_PASSWORD: adminPassword,
        // Keep per-run state out of the shared distribution.
        JAVA_OPTS_APPEND: [
          `-Djava.io.tmpdir=${join(dir, "tmp")}`,
          `-Dquarkus.transaction-manager.object-store.directory=${join(dir, "transaction-logs")}`,
        ].join(" "),
      },
    },
  );
  server.child.stdout?.pipe(logStream, { end: false });
  server.child.stderr?.pipe(logStream, { end: false });
  let running = true;
  void server.exited.then(() => {
    running = false;
  });

  log(
    `testbed: starting Keycloak ${options.dist.version} on ${url} (JVM start; the first one on a machine takes longer)`,
  );
  const started = Date.now();
  const progress = setInterval(
    () => log(`testbed: waiting for Keycloak to be ready… ${Math.round((Date.now() - started) / 1000)} s`),
    10_000,
  );
  try {
    await waitFor(
      "Keycloak /health/ready",
      async () => {
        if (!running) throw new Error(`Keycloak exited early; see ${logPath}`);
        const res = await httpsRequest(`https://127.0.0.1:${managementPort}/health/ready`, {
          ca: options.ca.certPem,
          timeoutMs: 5000,
        });
        return res.status === 200;
      },
      { timeoutMs: options.timeoutMs ?? 300_000, intervalMs: 500 },
    );
  } catch (error) {
    await server.stop();
    const tail = (await readFile(logPath, "utf8").catch(() => "")).split("\n").slice(-30).join("\n");
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- Keycloak log tail ---\n${tail}`);
  } finally {
    clearInterval(progress);
  }
  log(`testbed: Keycloak ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const admin = new KeycloakAdmin({
    baseUrl: url,
    ca: options.ca.certPem,
    username: adminUsername,
    password: adminPassword,
    realm: keycloakRealm,
  });
  try {
    await admin.importRealm(JSON.parse(await readFile(realmFile, "utf8")));
  } catch (error) {
    // Keycloak is running: stop it, or it outlives the failed start (and keeps the test process alive).
    await server.stop();
    logStream.end();
    throw error;
  }

  return {
    url,
    issuerUrl: `${url}/realms/${keycloakRealm}`,
    admin,
    adminUsername,
    pid: server.child.pid ?? -1,
    ports: [httpsPort, httpPort, managementPort],
    logPath,
    stop: async () => {
      await server.stop();
      logStream.end();
    },
  };
}
