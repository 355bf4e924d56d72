// doctor's impersonation-rights check against the bed's kube-apiserver: a gateway Deployment
// that kept kube-oidc-proxy's ClusterRole (v0.3.0 deploy/yaml/kube-oidc-proxy.yaml) may not
// impersonate the credential-id extra the gateway sets from `jti` (issue 17: every Keycloak
// request got 403 and nothing said why).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { impersonationRights, neededByWorkload } from "../../src/doctor/checks/impersonation-rights.ts";
import { DoctorContext } from "../../src/doctor/context.ts";
import { dashboardAccessChecks } from "../../src/doctor/options.ts";
import { rightName } from "../../src/server/impersonation-rights.ts";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";

const peerTarball = join(import.meta.dirname, "../../../shared/peers/kube-oidc-proxy-v0.3.0.tar.gz");

/** kube-oidc-proxy's manifest from its tarball: its ServiceAccount, ClusterRole and binding, and its namespace. */
function kubeOidcProxyRbac(): string {
  const manifest = execFileSync("tar", [
    "-xzOf",
    peerTarball,
    "kube-oidc-proxy-v0.3.0/deploy/yaml/kube-oidc-proxy.yaml",
  ]).toString("utf8");
  const documents = manifest
    .split(/^---$/m)
    .filter((text) => /^kind: (ServiceAccount|ClusterRole|ClusterRoleBinding)$/m.test(text));
  assert.equal(documents.length, 3);
  return ["apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-oidc-proxy}\n", ...documents].join("\n---\n");
}

const gatewayDeployment = (serviceAccount: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: kube-oidc-proxy, namespace: kube-oidc-proxy}
spec:
  selector: {matchLabels: {app: kube-oidc-proxy}}
  template:
    metadata: {labels: {app: kube-oidc-proxy}}
    spec:
      serviceAccountName: ${serviceAccount}
      containers:
      - name: gateway
        image: ghcr.io/example/kube-oidc-gateway:0.1.0
        args: [serve, --oidc-issuer-url=https://keycloak.example.com/realms/kube, --oidc-client-id=kubernetes, --oidc-groups-claim=groups]
`;

const credentialIdRule = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kube-oidc-proxy-credential-id}
rules:
- apiGroups: ["authentication.k8s.io"]
  resources: ["userextras/authentication.kubernetes.io/credential-id"]
  verbs: ["impersonate"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kube-oidc-proxy-credential-id}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kube-oidc-proxy-credential-id}
subjects:
- {kind: ServiceAccount, name: kube-oidc-proxy, namespace: kube-oidc-proxy}
`;

describe("doctor impersonation-rights on the bed", { timeout: 300_000 }, () => {
  let bed: TestBed;
  const options = () => ({
    kubeconfig: bed.apiServer?.adminKubeconfig ?? "",
    issuerCaBundles: [],
    namespace: "default",
    accessChecks: dashboardAccessChecks,
    probeUrls: [],
    timeoutMs: 60_000,
    checkTimeoutMs: 10_000,
    allowSystemIdentities: false,
    env: {},
    serviceAccountDir: join(bed.dir, "no-service-account"),
  });
  const run = () => {
    const context = new DoctorContext(options());
    return impersonationRights.run(context).finally(() => context.close());
  };
  const apply = async (text: string, verb = "apply") => {
    const result = await bed.kubectl([verb, "-f", "-"], undefined, text);
    assert.equal(result.code, 0, result.stderr);
  };

  before(async () => {
    bed = await startTestBed();
    await apply(kubeOidcProxyRbac());
  });
  after(async () => {
    await bed?.stop();
  });

  it("needs users, groups and the credential-id extra for --oidc-* flags with a groups claim", () => {
    assert.deepEqual(
      neededByWorkload(
        new Map([
          ["oidc-issuer-url", "https://i"],
          ["oidc-groups-claim", "groups"],
          ["extra-user-headers", "Team=a"],
        ]),
      ).map(rightName),
      ["users", "groups", "userextras/authentication.kubernetes.io/credential-id", "userextras/team"],
    );
    assert.deepEqual(neededByWorkload(new Map([["disable-impersonation", "true"]])), []);
  });

  it("warns on kube-oidc-proxy's ClusterRole: the credential-id extra, with the rule to add", async () => {
    await apply(gatewayDeployment("kube-oidc-proxy"));
    const outcome = await run();
    assert.equal(outcome.status, "warn", JSON.stringify(outcome));
    assert.match(
      outcome.summary,
      /^Deployment kube-oidc-proxy\/kube-oidc-proxy may not impersonate userextras\/authentication\.kubernetes\.io\/credential-id: the gateway leaves those extras out/,
    );
    assert.match(
      outcome.fix ?? "",
      /ServiceAccount kube-oidc-proxy\/kube-oidc-proxy .*\n- apiGroups: \["authentication\.k8s\.io"\]\n {2}resources: \["userextras\/authentication\.kubernetes\.io\/credential-id"\]/,
    );
    assert.ok(outcome.evidence.some((line) => line.startsWith("yes  ") && line.includes("impersonate users")));
  });

  it("passes once the rule it names is added", async () => {
    await apply(credentialIdRule);
    const outcome = await run();
    assert.equal(outcome.status, "pass", JSON.stringify(outcome));
    await apply(credentialIdRule, "delete");
  });

  it("skips when doctor's user may not create SubjectAccessReviews", async () => {
    const token = await bed.kubectl(["create", "token", "kube-oidc-proxy", "--namespace=kube-oidc-proxy"]);
    assert.equal(token.code, 0, token.stderr);
    const kubeconfig = await bed.kubeconfigFor(token.stdout.trim());
    const context = new DoctorContext({ ...options(), kubeconfig });
    try {
      const outcome = await impersonationRights.run(context);
      assert.equal(outcome.status, "skipped", JSON.stringify(outcome));
    } finally {
      context.close();
    }
  });

  it("fails when the ServiceAccount may not impersonate users at all (every request 403)", async () => {
    await apply(gatewayDeployment("default"));
    const outcome = await run();
    assert.equal(outcome.status, "fail", JSON.stringify(outcome));
    assert.match(
      outcome.summary,
      /may not impersonate users, groups, .*: the API server refuses its requests with 403/,
    );
  });
});
