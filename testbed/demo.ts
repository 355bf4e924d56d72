// `npm run demo`: the whole chain on this machine with real parts, as a walkthrough. The API
// server is started WITHOUT any OIDC configuration (the point of the gateway: the cluster needs
// no reconfiguration); an OpenID provider logs the demo user in; the gateway validates her token
// exactly as kube-apiserver would and forwards her requests impersonated. With --once the
// walkthrough's expectations are checked and the process exits (0 only if all held).
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { doctor } from "../src/cli/commands/doctor.ts";
import { startTestBed } from "./bed.ts";
import {
  gatewayReady,
  gatewayServiceAccount,
  prepareGatewayCredentials,
  type RunningGateway,
  sessionGatewayFlags,
  startTestGateway,
} from "./gateway.ts";
import { clients } from "./issuer/oidc-provider.ts";
import { findUser } from "./issuer/users.ts";
import { cacheDir, runningBedStatePath } from "./paths.ts";
import { freePort } from "./ports.ts";

export interface DemoOptions {
  readonly once: boolean;
  readonly out: (text: string) => void;
  readonly log: (line: string) => void;
}

const namespace = "demo";
const user = findUser("jane");

/** The gateway's OIDC settings: those a Keycloak-backed cluster would use, with the bed's issuer. */
const oidcFlags = (issuerUrl: string) => [
  `--oidc-issuer-url=${issuerUrl}`,
  `--oidc-client-id=${clients.kubernetes.id}`,
  "--oidc-username-claim=email",
  "--oidc-username-prefix=oidc:",
  "--oidc-groups-claim=groups",
  "--oidc-groups-prefix=oidc:",
];

const rbac = (username: string) => `
apiVersion: v1
kind: Namespace
metadata: {name: ${namespace}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: hello, namespace: ${namespace}}
data: {greeting: "read through kube-oidc-gateway"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: configmap-reader, namespace: ${namespace}}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: jane-reads-configmaps, namespace: ${namespace}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: configmap-reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "${username}"}]
`;

interface Step {
  readonly command: string;
  readonly ok: boolean;
  readonly expectation: string;
}

export async function runDemo(options: DemoOptions): Promise<number> {
  if (!user) throw new Error("the bed has no user jane");
  const { out, log } = options;
  const port = await freePort();
  const gatewayUrl = `https://127.0.0.1:${port}`;
  const started = Date.now();
  out("kube-oidc-gateway demo: a real kube-apiserver, an OpenID provider and the gateway, on this machine\n\n");
  const bed = await startTestBed({
    log,
    jwt: () => [], // no OIDC at the API server: the gateway does it
    issuerRedirectUris: [`${gatewayUrl}/oauth2/callback`],
    issuerPostLogoutRedirectUris: [`${gatewayUrl}/`],
  });
  let gateway: RunningGateway | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await rm(runningBedStatePath, { force: true });
      await gateway?.gateway.stop();
      await bed.stop();
    })();
    return stopping;
  };
  try {
    const credentials = await prepareGatewayCredentials(bed);
    const username = `oidc:${user.email}`;
    const applied = await bed.kubectl(["apply", "-f", "-"], undefined, rbac(username));
    if (applied.code !== 0) throw new Error(`kubectl apply: ${applied.stderr}`);
    const sessionFlags = await sessionGatewayFlags(bed, {
      port,
      issuerUrl: bed.issuer.url,
      clientId: clients.kubernetes.id,
      clientSecret: clients.kubernetes.secret,
      whoamiPage: true,
    });
    gateway = await startTestGateway(credentials, [
      ...oidcFlags(bed.issuer.url),
      ...sessionFlags,
      "--session-scopes=openid,email,profile,groups",
    ]);
    await gatewayReady(gateway);
    const api = bed.apiServer?.url ?? "";
    out(`The cluster   kube-apiserver ${bed.binaries?.version} at ${api}, RBAC on, no OIDC configured
The issuer    oidc-provider at ${bed.issuer.url}
The gateway   kube-oidc-gateway at ${gatewayUrl}
              ${oidcFlags(bed.issuer.url).slice(2).join(" ")}
              forwarding as ServiceAccount ${gatewayServiceAccount.namespace}/${gatewayServiceAccount.name} with Impersonate-* headers
RBAC          Role ${namespace}/configmap-reader bound to User "${username}"

${user.username} logs in at the issuer (authorization code + PKCE) and gets an id token.\n\n`);
    const token = (await bed.login(user.username)).idToken;

    const steps: Step[] = [];
    const show = async (
      title: string,
      args: string[],
      server: string,
      expectation: string,
      holds: (r: { code: number; stdout: string; stderr: string }) => boolean,
    ) => {
      const result = await bed.kubectl(args, { token, server });
      const ok = holds(result);
      steps.push({ command: `kubectl ${args.join(" ")}`, ok, expectation });
      out(`${title}\n  $ kubectl --server=${server} ${args.join(" ")}\n`);
      const text = `${result.stdout}${result.stderr}`.trim();
      out(`${text.replace(/^/gm, "    ")}\n  ${ok ? "✓" : "✗"} ${expectation}\n\n`);
    };
    await show(
      "Straight to the API server, the token means nothing (it validates no OIDC tokens):",
      ["auth", "whoami"],
      api,
      "refused: Unauthorized",
      (r) => r.code !== 0 && /Unauthorized|must be logged in/.test(r.stderr),
    );
    await show(
      "Through the gateway, the API server sees the user the token stands for:",
      ["auth", "whoami"],
      gatewayUrl,
      `authenticated as ${username}, groups oidc:developers, oidc:viewers`,
      (r) => r.code === 0 && r.stdout.includes(username) && r.stdout.includes("oidc:developers"),
    );
    await show(
      "A request RBAC permits:",
      ["get", "configmaps", "-n", namespace],
      gatewayUrl,
      "allowed by RoleBinding demo/jane-reads-configmaps",
      (r) => r.code === 0 && r.stdout.includes("hello"),
    );
    await show(
      "A request RBAC denies:",
      ["get", "secrets", "-n", namespace],
      gatewayUrl,
      `denied: Forbidden for User "${username}"`,
      (r) => r.code !== 0 && /Forbidden/.test(r.stderr) && r.stderr.includes(username),
    );

    // doctor on the same setup: the automated debugging procedure should find nothing wrong.
    const tokenFile = join(bed.dir, "demo", "jane.jwt");
    await mkdir(join(bed.dir, "demo"), { recursive: true });
    await writeFile(tokenFile, token, { mode: 0o600 });
    let doctorOut = "";
    // The command itself, not the CLI entry: that module is still evaluating when `npm run demo` runs.
    const doctorCode = await doctor.run(
      [
        `--kubeconfig=${bed.apiServer?.adminKubeconfig}`,
        `--token-file=${tokenFile}`,
        `--gateway-url=${gatewayUrl}`,
        `--gateway-ca-file=${credentials.caFile}`,
        `--oidc-ca-file=${credentials.caFile}`,
        `--namespace=${namespace}`,
        "--can-i=list:configmaps,watch:configmaps",
        ...oidcFlags(bed.issuer.url),
      ],
      {
        stdout: (t) => {
          doctorOut += t;
        },
        stderr: () => {},
        stdin: Readable.from([]),
        env: {},
        interactive: false,
      },
    );
    const summary = doctorOut
      .trim()
      .split("\n")
      .filter((l) => /passed, .* failed/.test(l));
    steps.push({ command: "kube-oidc-gateway doctor", ok: doctorCode === 0, expectation: "no check fails" });
    out(
      `The debugging procedure, automated:\n  $ kube-oidc-gateway doctor --token-file=… --gateway-url=${gatewayUrl} …\n    ${summary.join(" ")}\n  ${doctorCode === 0 ? "✓" : "✗"} no check fails or warns\n\n`,
    );

    const kubeconfig = await bed.kubeconfigFor(token, gatewayUrl);
    await mkdir(join(cacheDir, "testbed"), { recursive: true });
    await writeFile(
      runningBedStatePath,
      JSON.stringify({ issuerUrl: bed.issuer.url, caPath: join(bed.dir, "ca.crt") }),
    );
    const failed = steps.filter((s) => !s.ok);
    out(
      `Up in ${((Date.now() - started) / 1000).toFixed(1)} s. ${failed.length === 0 ? "Every step behaved as expected." : `${failed.length} step(s) did not: ${failed.map((s) => s.command).join("; ")}`}\n`,
    );
    if (options.once) return failed.length === 0 ? 0 : 1;

    out(`
Try it by hand (Ctrl-C stops everything and removes ${bed.dir}):

  export KUBECONFIG=${kubeconfig}        # ${user.username}'s token, through the gateway; it expires in 10 minutes
  ${bed.binaries?.kubectl} auth whoami
  ${bed.binaries?.kubectl} get configmaps -n ${namespace} --watch
  ${bed.binaries?.kubectl} auth can-i --list -n ${namespace}

  A fresh token:  npm run --silent testbed -- token ${user.username}
  Its verdict:    npm run --silent testbed -- token ${user.username} | node_modules/.bin/node src/cli/main.ts token --oidc-ca-file=${credentials.caFile} ${oidcFlags(bed.issuer.url).join(" ")}

  The whoami page: ${gatewayUrl}/oauth2/whoami
    log in as ${user.username} / ${user.password}; the browser does not know the demo's CA (${join(bed.dir, "ca.crt")}),
    so accept its warning or import that file.
`);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", () => resolve());
      process.once("SIGTERM", () => resolve());
    });
    out("\nstopping\n");
    return 0;
  } finally {
    await stop();
  }
}
