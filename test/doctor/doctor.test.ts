// doctor against the real test bed: an API server without OIDC, the gateway in front of it, the
// oidc-provider issuer. Healthy, every check passes; each root cause injected on purpose must be
// the first failing check, with its fix.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import { TestCA } from "../../testbed/ca.ts";
import {
  gatewayReady,
  prepareGatewayCredentials,
  type RunningGateway,
  startTestGateway,
} from "../../testbed/gateway.ts";
import { ensureHelm } from "../../testbed/helm.ts";
import { clients } from "../../testbed/issuer/oidc-provider.ts";
import { repoRoot } from "../../testbed/paths.ts";
import { runCli } from "../helpers/run-cli.ts";

const chartDir = join(repoRoot, "charts", "kube-oidc-gateway");

interface Result {
  id: string;
  status: "pass" | "warn" | "fail" | "skipped";
  summary: string;
  evidence: string[];
  fix?: string;
  docs: string;
  causedBy?: string;
}
interface Report {
  results: Result[];
  worst: string;
  firstFailure?: string;
}

const rbac = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: gateway-deployment-impersonates}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kube-oidc-gateway-impersonator}
subjects: [{kind: ServiceAccount, name: default, namespace: default}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: dashboard-viewer}
rules:
- apiGroups: [""]
  resources: [pods, namespaces, events]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: jane-views}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: dashboard-viewer}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "oidc:jane@example.com"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: developers-view}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: dashboard-viewer}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: "oidc:developers"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: mallory-views, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: dashboard-viewer}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "mallory@example.com"}]
`;

// The gateway's Deployment as a cluster stores it (nothing runs it here: the gateway runs as a
// process of this test; doctor reads its probes and arguments from the API).
const gatewayDeployment = (name: string, probePort: number) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: default}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - name: gateway
        image: ghcr.io/example/kube-oidc-gateway:0.1.0
        args: [serve, --secure-port=8443, --health-port=8080]
        ports: [{name: https, containerPort: 8443}, {name: health, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /readyz, port: ${probePort}, scheme: ${probePort === 8443 ? "HTTPS" : "HTTP"}}}
        livenessProbe: {tcpSocket: {port: 8443}}
`;

describe("doctor on the test bed", { timeout: 300_000 }, () => {
  let bed: TestBed;
  let gateway: RunningGateway;
  let caFile: string;
  let otherCaFile: string;
  let oidcFlags: string[];
  let janeFile: string;

  before(async () => {
    bed = await startTestBed({ jwt: () => [] }); // the API server validates no OIDC tokens
    caFile = join(bed.dir, "ca.crt");
    oidcFlags = [
      `--oidc-issuer-url=${bed.issuer.url}`,
      `--oidc-client-id=${clients.kubernetes.id}`,
      "--oidc-username-claim=email",
      "--oidc-username-prefix=oidc:",
      "--oidc-groups-claim=groups",
      "--oidc-groups-prefix=oidc:",
    ];
    gateway = await startTestGateway(await prepareGatewayCredentials(bed), oidcFlags);
    await gatewayReady(gateway);
    const applied = await bed.kubectl(
      ["apply", "-f", "-"],
      undefined,
      `${rbac}---${gatewayDeployment("kube-oidc-gateway", 8080)}`,
    );
    assert.equal(applied.code, 0, applied.stderr);
    otherCaFile = join(bed.dir, "other-ca.crt");
    await writeFile(otherCaFile, (await TestCA.create("an unrelated corporate CA")).certPem);
    janeFile = join(bed.dir, "jane.jwt");
    await writeFile(janeFile, (await bed.login("jane")).idToken);
  });
  after(async () => {
    await gateway?.gateway.stop();
    await bed?.stop();
  });

  const now = () => Math.floor(Date.now() / 1000);
  async function tokenFile(name: string, claims: Record<string, unknown>, remove: string[] = []): Promise<string> {
    const all: Record<string, unknown> = {
      iss: bed.issuer.url,
      aud: clients.kubernetes.id,
      sub: `${name}-1`,
      email: `${name}@example.com`,
      email_verified: true,
      groups: ["viewers"],
      iat: now(),
      exp: now() + 600,
      ...claims,
    };
    for (const key of remove) delete all[key];
    const file = join(bed.dir, `${name}.jwt`);
    await writeFile(file, bed.mint({ alg: "RS256", kid: "rsa-1", claims: all }));
    return file;
  }

  const healthy = () => [
    `--kubeconfig=${bed.apiServer?.adminKubeconfig}`,
    `--gateway-url=${gateway.url}`,
    `--gateway-ca-file=${caFile}`,
    ...oidcFlags,
    `--oidc-ca-file=${caFile}`,
    `--issuer-ca-file=${caFile}`,
    `--client-ca-file=${caFile}`,
    "--refresh-interval=1m",
    `--token-file=${janeFile}`,
  ];
  /** The healthy run with no OIDC flags but --oidc-ca-file: the CA file's contents for a configuration read from the cluster. */
  const withoutOidcFlags = () => healthy().filter((a) => !a.startsWith("--oidc-") || a.startsWith("--oidc-ca-file="));
  const replace = (args: string[], flag: string, value?: string) => [
    ...args.filter((a) => !a.startsWith(`--${flag}=`)),
    ...(value === undefined ? [] : [`--${flag}=${value}`]),
  ];

  async function doctor(args: string[]): Promise<{ code: number; report: Report; stderr: string }> {
    const run = await runCli(["doctor", ...args, "--output=json"]);
    assert.ok([0, 1].includes(run.code), `doctor exited ${run.code}: ${run.stderr}`);
    return { code: run.code, report: JSON.parse(run.stdout) as Report, stderr: run.stderr };
  }

  function firstFailure(report: Report): Result {
    const failed = report.results.find((r) => r.status === "fail");
    assert.ok(failed, `nothing failed: ${JSON.stringify(report.results.map((r) => [r.id, r.status, r.summary]))}`);
    return failed;
  }

  it("passes on the healthy setup: every check passes, none is skipped", async () => {
    const { code, report } = await doctor(healthy());
    const notPassed = report.results
      .filter((r) => r.status !== "pass")
      .map((r) => `${r.id}: ${r.status}: ${r.summary}`);
    assert.deepEqual(notPassed, []);
    assert.equal(code, 0);
    assert.equal(report.results.length, 15);
    const whoami = report.results.find((r) => r.id === "whoami");
    assert.match(whoami?.summary ?? "", /as "oidc:jane@example\.com"/);
  });

  const rootCauses: [string, string, () => Promise<string[]>, RegExp][] = [
    [
      "username prefix mismatch with the RoleBinding",
      "username-mapping",
      async () => replace(healthy(), "token-file", await tokenFile("mallory", {})),
      /"oidc:mallory@example\.com"/,
    ],
    [
      "groups claim missing",
      "groups-claim",
      async () => replace(healthy(), "token-file", await tokenFile("nogroups", {}, ["groups"])),
      /Group Membership/,
    ],
    [
      "wrong audience",
      "iss-aud",
      async () => replace(healthy(), "token-file", await tokenFile("wrongaud", { aud: "other-app" })),
      /[Aa]udience/,
    ],
    [
      "email not verified (the username comes from email)",
      "token-verify",
      async () => replace(healthy(), "token-file", await tokenFile("unverified", { email_verified: false })),
      /verify the user's email/,
    ],
    [
      "signed by a key the issuer does not publish",
      "token-verify",
      async () => {
        const file = join(bed.dir, "rogue.jwt");
        const claims = {
          iss: bed.issuer.url,
          aud: clients.kubernetes.id,
          email: "r@example.com",
          email_verified: true,
          exp: now() + 600,
        };
        await writeFile(file, bed.mint({ alg: "RS256", kid: "rogue-rsa", header: { kid: "rsa-1" }, claims }));
        return replace(healthy(), "token-file", file);
      },
      /Log in again/,
    ],
    [
      "expired token",
      "token-expiry",
      async () => replace(healthy(), "token-file", await tokenFile("expired", { iat: now() - 900, exp: now() - 300 })),
      /fresh token/,
    ],
    [
      "issuer CA missing from the bundle",
      "issuer-tls",
      async () => replace(healthy(), "issuer-ca-file", otherCaFile),
      /kube-oidc-gateway test bed CA/,
    ],
    [
      "refresh interval longer than the token lifetime",
      "refresh-vs-lifetime",
      async () => replace(healthy(), "refresh-interval", "15m"),
      /--cookie-refresh=6m/,
    ],
  ];

  /** Runs `body` while the cluster has no gateway Deployment (doctor would suspect one in front). */
  async function withoutGatewayDeployment<T>(body: () => Promise<T>): Promise<T> {
    await bed.kubectl(["delete", "deployment", "kube-oidc-gateway", "-n", "default"]);
    try {
      return await body();
    } finally {
      await bed.kubectl(["apply", "-f", "-"], undefined, gatewayDeployment("kube-oidc-gateway", 8080));
    }
  }

  it("names the root cause: API server without OIDC and no gateway → apiserver-oidc", async () => {
    const withoutGateway = replace(replace(healthy(), "gateway-url"), "gateway-ca-file");
    const { code, report } = await withoutGatewayDeployment(() => doctor(withoutGateway));
    const failed = firstFailure(report);
    assert.equal(failed.id, "apiserver-oidc", `${failed.id}: ${failed.summary}`);
    assert.match(failed.summary, /no gateway is in front/);
    assert.match(failed.fix ?? "", /put kube-oidc-gateway in front/);
    assert.equal(code, 1);
    // With the gateway's Deployment in the cluster but no URL given, doctor asks for the URL instead.
    const suspected = await doctor(withoutGateway);
    const check = suspected.report.results.find((r) => r.id === "apiserver-oidc");
    assert.equal(check?.status, "warn");
    assert.match(check?.fix ?? "", /--gateway-url/);
  });

  for (const [name, id, args, fix] of rootCauses) {
    it(`names the root cause: ${name} → ${id}`, async () => {
      const { code, report } = await doctor(await args());
      const failed = firstFailure(report);
      assert.equal(failed.id, id, `${failed.id}: ${failed.summary}`);
      assert.equal(report.firstFailure, id);
      assert.match(failed.fix ?? "", fix);
      assert.equal(failed.docs, `kube-oidc-gateway explain ${id}`);
      assert.equal(code, 1);
    });
  }

  // doctor never blames what works (issue 19): each of these is a healthy gateway that an
  // earlier doctor reported as broken.
  it("issuer-tls does not fail when doctor is not given the gateway's CA bundle and the gateway verifies the issuer", async () => {
    // The user omits --oidc-ca-file: doctor cannot know the bundle the gateway trusts. It failed
    // "the gateway (system roots) cannot verify the issuer's certificate" while whoami passed.
    const { code, report } = await doctor(replace(healthy(), "oidc-ca-file"));
    const byId = new Map(report.results.map((r) => [r.id, r]));
    const issuerTls = byId.get("issuer-tls");
    assert.equal(issuerTls?.status, "pass", JSON.stringify(issuerTls));
    assert.ok(
      issuerTls?.evidence.some((e) =>
        /the gateway authenticated the token \(SelfSubjectReview: HTTP 201 as "oidc:jane@example\.com"\)/.test(e),
      ),
      issuerTls?.evidence.join("\n"),
    );
    assert.equal(byId.get("whoami")?.status, "pass");
    // doctor's own discovery cannot verify the issuer either: the checks that need it say why, and
    // point at the missing bundle, not at issuer-tls or netpath, which pass.
    for (const id of ["iss-aud", "token-verify"]) {
      assert.equal(byId.get(id)?.status, "skipped", id);
      assert.match(
        byId.get(id)?.summary ?? "",
        /doctor does not know the CA bundle the gateway trusts.*--oidc-ca-file/,
        id,
      );
      assert.doesNotMatch(byId.get(id)?.summary ?? "", /issuer-tls/, id);
    }
    assert.equal(report.firstFailure, undefined);
    assert.equal(code, 0);
    // Without a token to prove it with: a warning that asks for the bundle, not a failure.
    const unproven = await doctor(replace(replace(healthy(), "oidc-ca-file"), "token-file"));
    const warned = unproven.report.results.find((r) => r.id === "issuer-tls");
    assert.equal(warned?.status, "warn", JSON.stringify(warned));
    assert.match(warned?.summary ?? "", /doctor does not know the CA bundle the gateway trusts/);
    assert.match(warned?.fix ?? "", /--oidc-ca-file/);
    assert.equal(unproven.report.firstFailure, undefined);
    // A bundle doctor is told is the gateway's, that does not verify, while the gateway
    // authenticates: doctor was told the wrong bundle, a warning that says so.
    const told = await doctor(replace(healthy(), "oidc-ca-file", otherCaFile));
    const contradicted = told.report.results.find((r) => r.id === "issuer-tls");
    assert.equal(contradicted?.status, "warn", JSON.stringify(contradicted));
    assert.match(contradicted?.summary ?? "", /but the gateway authenticates: it uses another bundle/);
    assert.equal(told.report.firstFailure, undefined);
    // The control: the same bundle without a token to prove otherwise still fails.
    const unprovenWrong = await doctor(replace(replace(healthy(), "oidc-ca-file", otherCaFile), "token-file"));
    const failed = firstFailure(unprovenWrong.report);
    assert.equal(failed.id, "issuer-tls", `${failed.id}: ${failed.summary}`);
    assert.match(failed.summary, /^the gateway \(the issuer CA of the --oidc-\* flags given\) cannot verify/);
  });

  it("issuer-tls, with the configuration read from the gateway's Deployment: a CA file doctor cannot read, or the gateway's own system roots, are proven by its answer, and fail without one", async () => {
    const deployment = (extra: string) =>
      gatewayDeployment("kube-oidc-gateway", 8080).replace(
        "args: [serve, --secure-port=8443, --health-port=8080]",
        `args: [serve, --secure-port=8443, --health-port=8080, ${oidcFlags.join(", ")}${extra}]`,
      );
    // No --oidc-* and no --oidc-ca-file given to doctor: its picture is the Deployment's alone.
    const nothingGiven = healthy().filter((a) => !a.startsWith("--oidc-"));
    try {
      let applied = await bed.kubectl(
        ["apply", "-f", "-"],
        undefined,
        deployment(", --oidc-ca-file=/etc/kube-oidc-gateway/issuer-ca.crt"),
      );
      assert.equal(applied.code, 0, applied.stderr);
      const unread = (await doctor(nothingGiven)).report.results.find((r) => r.id === "issuer-tls");
      assert.equal(unread?.status, "pass", JSON.stringify(unread));
      assert.ok(
        unread?.evidence.some((e) => /a file doctor cannot read/.test(e)) &&
          unread.evidence.some((e) => /^the gateway authenticated the token \(SelfSubjectReview/.test(e)),
        unread?.evidence.join("\n"),
      );
      // The Deployment names no CA file: the gateway trusts its own system roots. doctor's do not
      // verify the test bed's issuer, and without a token to ask the gateway with, that fails.
      applied = await bed.kubectl(["apply", "-f", "-"], undefined, deployment(""));
      assert.equal(applied.code, 0, applied.stderr);
      const roots = firstFailure((await doctor(replace(nothingGiven, "token-file"))).report);
      assert.equal(roots.id, "issuer-tls", `${roots.id}: ${roots.summary}`);
      assert.match(roots.summary, /^the gateway \(system roots\) cannot verify/);
      // With a token, the gateway's answer outranks doctor's roots (its image's roots are not
      // this machine's; here the test runs it with the CA): no failure.
      const answered = (await doctor(nothingGiven)).report.results.find((r) => r.id === "issuer-tls");
      assert.equal(answered?.status, "pass", JSON.stringify(answered));
    } finally {
      await bed.kubectl(["apply", "-f", "-"], undefined, gatewayDeployment("kube-oidc-gateway", 8080));
    }
  });

  it("whoami does not say the API server is configured differently from what doctor was given when no --gateway-url was given", async () => {
    // A gateway Deployment carries the OIDC flags; doctor gets no --oidc-* and no --gateway-url,
    // so it asks the API server, which validates no OIDC tokens: the gateway does.
    const args = `[serve, --secure-port=8443, --health-port=8080, ${oidcFlags.join(", ")}, --oidc-ca-file=/etc/kube-oidc-gateway/issuer-ca.crt]`;
    const applied = await bed.kubectl(
      ["apply", "-f", "-"],
      undefined,
      gatewayDeployment("kube-oidc-gateway", 8080).replace(
        "args: [serve, --secure-port=8443, --health-port=8080]",
        `args: ${args}`,
      ),
    );
    assert.equal(applied.code, 0, applied.stderr);
    try {
      const withoutUrl = (base: string[]) => replace(replace(base, "gateway-url"), "gateway-ca-file");
      for (const [given, base] of [
        ["nothing but --oidc-ca-file", withoutOidcFlags()],
        ["the gateway's --oidc-* flags", healthy()],
      ] as const) {
        const { report } = await doctor(withoutUrl([...base]));
        const whoami = report.results.find((r) => r.id === "whoami");
        assert.equal(whoami?.status, "warn", `${given}: ${JSON.stringify(whoami)}`);
        assert.doesNotMatch(`${whoami?.summary} ${whoami?.fix}`, /configured differently/, given);
        assert.match(whoami?.summary ?? "", /Deployment default\/kube-oidc-gateway/, given);
        assert.match(whoami?.fix ?? "", /--gateway-url/, given);
        assert.equal(report.firstFailure, undefined, `${given}: ${report.firstFailure}`);
      }
    } finally {
      await bed.kubectl(["apply", "-f", "-"], undefined, gatewayDeployment("kube-oidc-gateway", 8080));
    }
  });

  it("Fix first names refresh-vs-lifetime, not token-expiry, for a pasted token that expired because nothing refreshed it", async () => {
    // The Kubeapps guide's procedure: oauth2-proxy in front of the dashboard without
    // --cookie-refresh (Kubeapps charts before 7.1.0), the id token copied from the browser's
    // Authorization header (--set-authorization-header) and pasted into $TOKEN: by then it has
    // expired (Keycloak's default lifespan, 5 minutes), because nothing refreshed it.
    const proxy = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: kubeapps, namespace: default}
spec:
  selector: {matchLabels: {app: kubeapps}}
  template:
    metadata: {labels: {app: kubeapps}}
    spec:
      containers:
      - name: auth-proxy
        image: quay.io/oauth2-proxy/oauth2-proxy:v7.6.0
        args: [--provider=oidc, --oidc-issuer-url=${bed.issuer.url}, --client-id=${clients.kubernetes.id}, --set-authorization-header=true, --upstream=http://localhost:8080/]
`;
    const applied = await bed.kubectl(["apply", "-f", "-"], undefined, proxy);
    assert.equal(applied.code, 0, applied.stderr);
    try {
      const expired = await tokenFile("pasted", { iat: now() - 420, exp: now() - 120 });
      const token = (await import("node:fs")).readFileSync(expired, "utf8");
      const args = [
        ...replace(replace(healthy(), "token-file"), "refresh-interval"),
        "--token-env=TOKEN",
        "--output=json",
      ];
      const run = await runCli(["doctor", ...args], { env: { TOKEN: token } });
      const report = JSON.parse(run.stdout) as Report;
      const byId = new Map(report.results.map((r) => [r.id, r]));
      assert.equal(byId.get("token-expiry")?.status, "fail");
      assert.equal(byId.get("refresh-vs-lifetime")?.status, "fail");
      assert.equal(report.firstFailure, "refresh-vs-lifetime");
      assert.equal(byId.get("token-expiry")?.causedBy, "refresh-vs-lifetime");
      assert.match(byId.get("refresh-vs-lifetime")?.fix ?? "", /--cookie-refresh=3m/);
      assert.equal(run.code, 1);
      const text = await runCli(["doctor", ...args.filter((a) => a !== "--output=json")], { env: { TOKEN: token } });
      assert.match(text.stdout, /Fix first: refresh-vs-lifetime \(token-expiry failed because of it\)/);
      // The control: once the proxy refreshes (--cookie-refresh=2m, the chart's default since
      // 7.1.0), the expired token is its own cause: the user pasted an old one.
      const fixed = await bed.kubectl(
        ["apply", "-f", "-"],
        undefined,
        proxy.replace("--upstream=http://localhost:8080/]", "--upstream=http://localhost:8080/, --cookie-refresh=2m]"),
      );
      assert.equal(fixed.code, 0, fixed.stderr);
      const refreshed = await runCli(["doctor", ...args], { env: { TOKEN: token } });
      const own = JSON.parse(refreshed.stdout) as Report;
      assert.equal(own.results.find((r) => r.id === "refresh-vs-lifetime")?.status, "pass");
      assert.equal(own.firstFailure, "token-expiry");
      assert.equal(own.results.find((r) => r.id === "token-expiry")?.causedBy, undefined);
    } finally {
      await bed.kubectl(["delete", "deployment", "kubeapps", "-n", "default", "--wait=false"]);
    }
  });

  it("names the root cause: health probe on the authenticating port → probe-401", async () => {
    const applied = await bed.kubectl(["apply", "-f", "-"], undefined, gatewayDeployment("kube-oidc-gateway", 8443));
    assert.equal(applied.code, 0, applied.stderr);
    try {
      const { code, report } = await doctor(healthy());
      const failed = firstFailure(report);
      assert.equal(failed.id, "probe-401", `${failed.id}: ${failed.summary}`);
      assert.ok(
        failed.evidence.some((e) => /GET \/readyz on port 8443, the authenticating port.*HTTP 401/.test(e)),
        failed.evidence.join("\n"),
      );
      assert.match(failed.fix ?? "", /health port/);
      assert.equal(code, 1);
    } finally {
      await bed.kubectl(["apply", "-f", "-"], undefined, gatewayDeployment("kube-oidc-gateway", 8080));
    }
  });

  it("names the incident's TLS root cause: the in-cluster ca.crt lacks the gateway's CA → incluster-ca", async () => {
    // A gateway whose certificate comes from its own CA (cert-manager's, in the incident), while
    // the dashboard's ca.crt holds only the cluster CA, and SSL_CERT_FILE is set as a workaround.
    const gatewayCa = await TestCA.create("gateway CA");
    const credentials = await prepareGatewayCredentials(bed, "gateway-own-ca");
    const pair = await gatewayCa.issueLoopbackServer("kube-oidc-gateway");
    await writeFile(credentials.certFile, pair.certPem);
    await writeFile(credentials.keyFile, pair.keyPem);
    const second = await startTestGateway(credentials, oidcFlags);
    const gatewayCaFile = join(bed.dir, "gateway-ca.crt");
    await writeFile(gatewayCaFile, gatewayCa.certPem);
    try {
      await gatewayReady(second);
      const args = [
        ...replace(replace(healthy(), "gateway-url", second.url), "gateway-ca-file", gatewayCaFile),
        "--output=json",
      ];
      const run = await runCli(["doctor", ...args], { env: { SSL_CERT_FILE: gatewayCaFile } });
      const report = JSON.parse(run.stdout) as Report;
      const failed = firstFailure(report);
      assert.equal(failed.id, "incluster-ca", `${failed.id}: ${failed.summary}`);
      assert.ok(failed.evidence.some((e) => /holds 1 certificate: "kube-oidc-gateway test bed CA"/.test(e)));
      assert.ok(failed.evidence.some((e) => /SSL_CERT_FILE=.* does not read it/.test(e)));
      assert.match(failed.fix ?? "", /projected volume/);
      assert.match(failed.fix ?? "", /"gateway CA"/);
      assert.equal(run.code, 1);
    } finally {
      await second.gateway.stop();
    }
  });

  it("checks an OIDC user's own kubeconfig: the token comes from its exec plugin, as kubectl's does", async () => {
    const plugin = join(bed.dir, "fake-login.sh");
    const credential = JSON.stringify({
      apiVersion: "client.authentication.k8s.io/v1",
      kind: "ExecCredential",
      status: { token: (await import("node:fs")).readFileSync(janeFile, "utf8") },
    });
    await writeFile(plugin, `#!/bin/sh\ntest -n "$KUBERNETES_EXEC_INFO" || exit 3\ncat <<'EOF'\n${credential}\nEOF\n`, {
      mode: 0o755,
    });
    const kubeconfig = join(bed.dir, "jane.kubeconfig");
    await writeFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "c", cluster: { server: gateway.url, "certificate-authority": caFile } }],
        users: [
          {
            name: "jane",
            user: { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "./fake-login.sh" } },
          },
        ],
        contexts: [{ name: "jane", context: { cluster: "c", user: "jane" } }],
        "current-context": "jane",
      }),
    );
    const { report } = await doctor([`--kubeconfig=${kubeconfig}`, ...oidcFlags, `--oidc-ca-file=${caFile}`]);
    const byId = new Map(report.results.map((r) => [r.id, r]));
    assert.match(byId.get("token-decode")?.summary ?? "", /from the kubeconfig's credentials/);
    assert.match(byId.get("whoami")?.summary ?? "", /as "oidc:jane@example\.com"/);
    assert.equal(byId.get("username-mapping")?.status, "skipped");
    assert.match(byId.get("username-mapping")?.summary ?? "", /cannot list clusterrolebindings \(HTTP 403/);
    assert.equal(report.firstFailure, undefined);
  });

  it("reads the API server's flags from its static Pod where the cluster has one (kubeadm, kind)", async () => {
    // kubeadm's mirror Pod as the API stores it; nothing runs it here, doctor only reads it.
    const mirrorPod = (args: string[]) => `
apiVersion: v1
kind: Pod
metadata: {name: kube-apiserver-control-plane, namespace: kube-system, labels: {component: kube-apiserver, tier: control-plane}}
spec:
  automountServiceAccountToken: false
  containers:
  - name: kube-apiserver
    image: registry.k8s.io/kube-apiserver:v1.37.2
    command: [kube-apiserver, --authorization-mode=RBAC, ${args.join(", ")}]
`;
    const withoutGateway = replace(replace(healthy(), "gateway-url"), "gateway-ca-file");
    // The bed runs no controller-manager to create it; admission wants it for any Pod.
    await bed.kubectl(["create", "serviceaccount", "default", "-n", "kube-system"]);
    try {
      const applied = await bed.kubectl(["apply", "-f", "-"], undefined, mirrorPod(["--secure-port=6443"]));
      assert.equal(applied.code, 0, applied.stderr);
      const off = await withoutGatewayDeployment(() => doctor([...withoutGateway, "--only=apiserver-oidc"]));
      assert.equal(off.report.results[0]?.status, "fail");
      assert.ok(
        off.report.results[0]?.evidence.includes(
          "Pod kube-system/kube-apiserver-control-plane has neither --oidc-issuer-url nor --authentication-config",
        ),
      );
      // A Pod's command cannot change: replace it (unscheduled, it goes at once).
      await bed.kubectl(["delete", "pod", "-n", "kube-system", "kube-apiserver-control-plane"]);
      const replaced = await bed.kubectl(
        ["create", "-f", "-"],
        undefined,
        mirrorPod(["--authentication-config=/etc/kubernetes/authn.yaml"]),
      );
      assert.equal(replaced.code, 0, replaced.stderr);
      const on = await doctor([...withoutGateway, "--only=apiserver-oidc"]);
      assert.equal(on.report.results[0]?.status, "pass", JSON.stringify(on.report.results[0]));
      assert.match(on.report.results[0]?.summary ?? "", /validates OIDC tokens itself \(--authentication-config\)/);
      assert.equal(on.code, 0);
    } finally {
      await bed.kubectl(["delete", "pod", "-n", "kube-system", "kube-apiserver-control-plane", "--wait=false"]);
    }
  });

  it("takes the OIDC configuration from the gateway's Deployment when none is given", async () => {
    const args = `[serve, --secure-port=8443, --health-port=8080, ${oidcFlags.join(", ")}, --oidc-ca-file=/etc/kube-oidc-gateway/issuer-ca.crt]`;
    const applied = await bed.kubectl(
      ["apply", "-f", "-"],
      undefined,
      gatewayDeployment("kube-oidc-gateway", 8080).replace(
        "args: [serve, --secure-port=8443, --health-port=8080]",
        `args: ${args}`,
      ),
    );
    assert.equal(applied.code, 0, applied.stderr);
    try {
      const { code, report } = await doctor(withoutOidcFlags());
      const issAud = report.results.find((r) => r.id === "iss-aud");
      assert.equal(issAud?.status, "pass", issAud?.summary);
      assert.ok(
        issAud?.evidence.some((e) =>
          e.startsWith("Deployment default/kube-oidc-gateway (kube-oidc-gateway arguments): issuer"),
        ),
      );
      assert.ok(
        issAud?.evidence.some((e) => /--oidc-ca-file .* stands in for that file/.test(e)),
        issAud?.evidence.join("\n"),
      );
      assert.equal(report.firstFailure, undefined);
      assert.equal(code, 0);
    } finally {
      await bed.kubectl(["apply", "-f", "-"], undefined, gatewayDeployment("kube-oidc-gateway", 8080));
    }
  });

  it("without a token, still checks that the gateway refuses anonymous requests and skips what needs one", async () => {
    const { code, report } = await doctor(replace(healthy(), "token-file"));
    const byId = new Map(report.results.map((r) => [r.id, r]));
    assert.match(byId.get("apiserver-oidc")?.summary ?? "", /refuses anonymous requests/);
    for (const id of ["token-decode", "whoami", "token-verify"]) assert.equal(byId.get(id)?.status, "skipped", id);
    assert.equal(report.firstFailure, undefined);
    assert.equal(code, 0);
  });

  it("reads the gateway's settings from the chart's ConfigMap when no OIDC flags are given", async () => {
    // The project's own chart, rendered by helm and stored in the bed's API server: its gateway
    // reads `serve --config=…` from a ConfigMap, and doctor must follow it there.
    const helm = await ensureHelm();
    const set = [
      `config.oidc-issuer-url=${bed.issuer.url}`,
      `config.oidc-client-id=${clients.kubernetes.id}`,
      "config.oidc-username-claim=email",
      "config.oidc-username-prefix=oidc:",
      "config.oidc-groups-claim=groups",
      "config.oidc-groups-prefix=oidc:",
      "issuerCA.configMap=issuer-ca",
      // The chart refuses its placeholder image (issue 20); doctor finds the gateway by the last path element.
      "image.repository=images.test/kube-oidc-gateway",
    ].flatMap((s) => ["--set-string", s]);
    const rendered = await new Promise<string>((resolve, reject) =>
      execFile(helm, ["template", "chart", chartDir, "--namespace", "default", ...set], (error, out, err) =>
        error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out),
      ),
    );
    const applied = await bed.kubectl(["apply", "-f", "-"], undefined, rendered);
    assert.equal(applied.code, 0, applied.stderr);
    try {
      await withoutGatewayDeployment(async () => {
        const { code, report } = await doctor(withoutOidcFlags());
        const issAud = report.results.find((r) => r.id === "iss-aud");
        assert.equal(issAud?.status, "pass", issAud?.summary);
        assert.ok(
          issAud?.evidence.some((e) =>
            /\(kube-oidc-gateway arguments and ConfigMap .* \(\/etc\/kube-oidc-gateway\/config\.yaml\)\): issuer/.test(
              e,
            ),
          ),
          issAud?.evidence.join("\n"),
        );
        const probes = report.results.find((r) => r.id === "probe-401");
        assert.ok(
          probes?.evidence.some((e) => /readinessProbe: GET \/readyz on port 8080 \(the health port\)/.test(e)),
          probes?.evidence.join("\n"),
        );
        assert.equal(report.firstFailure, undefined);
        assert.equal(code, 0);
      });
    } finally {
      await bed.kubectl(["delete", "-f", "-", "--wait=false"], undefined, rendered);
    }
  });

  it("prints a readable report with progress on stderr and the worst result as exit code", async () => {
    const run = await runCli(["doctor", ...replace(healthy(), "refresh-interval", "15m")]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^\[ 1\/15\] apiserver-oidc: /m);
    assert.match(run.stdout, /^FAIL {2}refresh-vs-lifetime: /m);
    assert.match(run.stdout, /^ {6}fix: /m);
    assert.match(run.stdout, /^ {6}docs: kube-oidc-gateway explain refresh-vs-lifetime$/m);
    assert.match(run.stdout, /Fix first: refresh-vs-lifetime/);
    const raw = (await import("node:fs")).readFileSync(janeFile, "utf8");
    assert.ok(!run.stdout.includes(raw) && !run.stderr.includes(raw), "the token was printed");
  });

  it("stays within its time bound when a hop never answers", async () => {
    const blackHole: Server = createServer(() => {}); // accepts TCP, never speaks TLS
    await new Promise<void>((resolve) => blackHole.listen(0, "127.0.0.1", resolve));
    const port = (blackHole.address() as { port: number }).port;
    try {
      const started = Date.now();
      const { report } = await doctor([
        ...replace(healthy(), "gateway-url", `https://127.0.0.1:${port}`),
        "--check-timeout=1s",
        "--timeout=4s",
      ]);
      assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
      const netpath = report.results.find((r) => r.id === "netpath");
      assert.equal(netpath?.status, "fail");
      assert.ok(netpath?.evidence.some((e) => /no TLS handshake within 1000 ms/.test(e)));
    } finally {
      blackHole.close();
    }
  });

  it("refuses usage errors with exit 2, as every command does", async () => {
    assert.equal((await runCli(["doctor", "--only=nonsense"])).code, 2);
    assert.equal((await runCli(["doctor", "--output=yaml"])).code, 2);
    assert.equal((await runCli(["doctor", "--can-i=list"])).code, 2);
  });
});
