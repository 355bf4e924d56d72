// `npm run testbed`: starts the test bed for a person (or checks it and stops).
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startTestBed } from "./bed.ts";
import { checkTestBed } from "./check.ts";
import { loginWithCodeFlow } from "./issuer/code-flow.ts";
import { clients } from "./issuer/oidc-provider.ts";
import { findUser, testUsers } from "./issuer/users.ts";
import { ensureKeycloak } from "./keycloak/distribution.ts";
import { keycloakClients, keycloakUsers } from "./keycloak/keycloak.ts";
import { keycloakPasswordGrant } from "./keycloak/tokens.ts";
import { ensureKubeBinaries } from "./kube-binaries.ts";
import { cacheDir, runningBedStatePath } from "./paths.ts";

const help = `Usage: npm run testbed -- [options]
       npm run --silent testbed -- token <user>

Starts the kube-oidc-gateway test bed on loopback, with its own throwaway CA:
  - a real kube-apiserver (k8s.io/kubernetes, embedded etcd, RBAC on, anonymous off,
    audit log) whose own OIDC authenticator trusts the bed's issuers
  - an OpenID provider (oidc-provider) with code + PKCE + refresh and test users
  - with --keycloak, Keycloak too (realm "kube" from testbed/keycloak/realm.json)
  - kubectl built from the same Kubernetes release

Options:
  --keycloak   also start Keycloak (a JVM: tens of seconds; off by default)
  --check      start everything, prove it works, print the result and stop
               (exit 0 only when every check passed)
  --build      build (or find cached) kube-apiserver and kubectl, and fetch Keycloak
               with --keycloak, then exit
  -h, --help   show this text

Commands:
  token <user> print an id token for a test user of the running bed
               oidc-provider: ${testUsers.map((u) => u.username).join(", ")}; Keycloak: ${Object.keys(keycloakUsers).join(", ")}

The first start builds kube-apiserver and kubectl from Go modules (minutes on 2 cores) and,
with --keycloak, fetches Keycloak from Maven Central; both are cached under
${cacheDir} and later starts take seconds.`;

const statePath = runningBedStatePath;

interface RunningState {
  readonly issuerUrl: string;
  readonly keycloakIssuerUrl?: string;
  readonly caPath: string;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

async function printToken(username: string | undefined): Promise<number> {
  const user = username ? findUser(username) : undefined;
  const keycloakUser = username && Object.hasOwn(keycloakUsers, username) ? username : undefined;
  if (!user && !keycloakUser) {
    log(`token: name a test user: ${[...testUsers.map((u) => u.username), ...Object.keys(keycloakUsers)].join(", ")}`);
    return 2;
  }
  const state = JSON.parse(await readFile(statePath, "utf8").catch(() => "null")) as RunningState | null;
  if (!state) {
    log("token: no test bed is running; start one with `npm run testbed` in another terminal");
    return 1;
  }
  const ca = await readFile(state.caPath, "utf8");
  if (keycloakUser) {
    if (!state.keycloakIssuerUrl) {
      log("token: the running bed has no Keycloak; start it with `npm run testbed -- --keycloak`");
      return 1;
    }
    const tokens = await keycloakPasswordGrant(
      { issuerUrl: state.keycloakIssuerUrl, ca },
      keycloakUsers[keycloakUser as keyof typeof keycloakUsers],
    );
    process.stdout.write(`${tokens.idToken}\n`);
    return 0;
  }
  if (!user) return 2;
  const tokens = await loginWithCodeFlow({
    issuerUrl: state.issuerUrl,
    ca,
    username: user.username,
    password: user.password,
    clientSecret: clients.kubernetes.secret,
  });
  process.stdout.write(`${tokens.idToken}\n`);
  return 0;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: {
      check: { type: "boolean", default: false },
      keycloak: { type: "boolean", default: false },
      build: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  if (positionals[0] === "token") return printToken(positionals[1]);
  if (positionals.length > 0) {
    log(`testbed: unknown command ${JSON.stringify(positionals[0])}\n\n${help}`);
    return 2;
  }
  if (values.build) {
    const binaries = await ensureKubeBinaries(log);
    log(`testbed: kube-apiserver ${binaries.kubeApiserver}\ntestbed: kubectl        ${binaries.kubectl}`);
    if (values.keycloak) log(`testbed: Keycloak       ${(await ensureKeycloak(log)).home}`);
    return 0;
  }

  const started = Date.now();
  const bed = await startTestBed({ log, keycloak: values.keycloak });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log("testbed: stopping");
    await rm(statePath, { force: true });
    await bed.stop();
  };
  process.once("SIGINT", () => void stop().then(() => process.exit(130)));
  process.once("SIGTERM", () => void stop().then(() => process.exit(143)));
  log(`testbed: up in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  if (values.check) {
    const results = await checkTestBed(bed);
    for (const r of results) process.stdout.write(`${r.ok ? "ok  " : "FAIL"} ${r.name}\n     ${r.detail}\n`);
    await stop();
    const failed = results.filter((r) => !r.ok).length;
    process.stdout.write(failed === 0 ? "testbed: all checks passed\n" : `testbed: ${failed} check(s) failed\n`);
    return failed === 0 ? 0 : 1;
  }

  await mkdir(join(cacheDir, "testbed"), { recursive: true });
  const state: RunningState = {
    issuerUrl: bed.issuer.url,
    keycloakIssuerUrl: bed.keycloak?.issuerUrl,
    caPath: join(bed.dir, "ca.crt"),
  };
  await writeFile(statePath, JSON.stringify(state));
  const api = bed.apiServer;
  process.stdout.write(`
kube-oidc-gateway test bed is up. Ctrl-C stops it and removes ${bed.dir}.

  kube-apiserver   ${api?.url}   (${bed.binaries?.version})
  issuer           ${bed.issuer.url}   (oidc-provider; clients: ${clients.kubernetes.id}, ${clients.dashboard.id}, ${clients.otherApp.id})
  Keycloak         ${bed.keycloak ? `${bed.keycloak.issuerUrl}   (clients: ${keycloakClients.gateway.id}, ${keycloakClients.dashboard.id}; admin console ${bed.keycloak.url}/admin, user ${bed.keycloak.adminUsername}, password in the process only)` : "not started (add --keycloak)"}
  CA               ${join(bed.dir, "ca.crt")}
  audit log        ${api?.auditLogPath}
  admin kubeconfig ${api?.adminKubeconfig}
  kubectl          ${bed.binaries?.kubectl}

As the admin:
  ${bed.binaries?.kubectl} --kubeconfig ${api?.adminKubeconfig} get namespaces

As a test user (${testUsers.map((u) => `${u.username}/${u.password}`).join(", ")}), in another terminal:
  TOKEN=$(npm run --silent testbed -- token jane)
  ${bed.binaries?.kubectl} --kubeconfig ${api?.adminKubeconfig} --token "$TOKEN" auth whoami

The API server maps the oidc-provider id token's email to the username and its groups with
prefix "oidc:"; a Keycloak id token's preferred_username and groups with prefix "keycloak:".
`);
  await new Promise(() => {}); // until a signal arrives
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`testbed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
