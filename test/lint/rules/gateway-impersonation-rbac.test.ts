// gateway-impersonation-rbac: kube-oidc-proxy's own ClusterRole (v0.3.0
// deploy/yaml/kube-oidc-proxy.yaml, copied below) kept for the gateway lacks the credential-id
// extra the gateway sets from `jti`; every Keycloak request got 403 before the gateway learned to
// leave the extra out, and lint did not say why.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hitsOf, lintText, markersIn, only } from "../helpers.ts";

const gateway = (args: string, serviceAccount = "kube-oidc-proxy") => `apiVersion: apps/v1
kind: Deployment
metadata: {name: kube-oidc-proxy, namespace: kube-oidc-proxy}
spec:
  selector: {matchLabels: {app: kube-oidc-proxy}}
  template:
    metadata: {labels: {app: kube-oidc-proxy}}
    spec:
      serviceAccountName: ${serviceAccount}
      containers:
        - name: kube-oidc-proxy
          image: ghcr.io/example/kube-oidc-gateway:0.1.0
          args:
            - serve
            - --oidc-issuer-url=https://keycloak.example.com/realms/kube
            - --oidc-client-id=kubernetes
            - --oidc-groups-claim=groups
${args}`;

// kube-oidc-proxy v0.3.0 deploy/yaml/kube-oidc-proxy.yaml, its ClusterRole and binding.
const kubeOidcProxyRbac = (extraRules = "") => `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kube-oidc-proxy
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: kube-oidc-proxy
subjects:
- kind: ServiceAccount
  name: kube-oidc-proxy
  namespace: kube-oidc-proxy
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata:
  name: kube-oidc-proxy
rules: # expect: gateway-impersonation-rbac
- apiGroups:
  - ""
  resources:
  - "users"
  - "groups"
  - "serviceaccounts"
  verbs:
  - "impersonate"
- apiGroups:
  - "authentication.k8s.io"
  resources:
  - "userextras/scopes"
  - "tokenreviews"
  verbs:
  - "create"
  - "impersonate"
${extraRules}`;

describe("gateway-impersonation-rbac", () => {
  it("flags kube-oidc-proxy's ClusterRole: no credential-id extra, with the rule to add", () => {
    const rbac = kubeOidcProxyRbac();
    const report = lintText(gateway(""), rbac);
    assert.deepEqual(hitsOf(report, "gateway-impersonation-rbac"), markersIn(rbac));
    const [finding] = only(report, "gateway-impersonation-rbac");
    assert.equal(finding?.severity, "warning");
    assert.match(
      finding?.message ?? "",
      /^ClusterRole kube-oidc-proxy, bound to ServiceAccount kube-oidc-proxy of Deployment kube-oidc-proxy, does not grant impersonate on userextras\/authentication\.kubernetes\.io\/credential-id .*leave those extras out/,
    );
    assert.match(
      finding?.fix ?? "",
      /resources: \["userextras\/authentication\.kubernetes\.io\/credential-id"\]\n {2}verbs: \["impersonate"\]/,
    );
  });

  it("is quiet once the rule is added, and with --disable-impersonation", () => {
    const added = `- apiGroups: ["authentication.k8s.io"]
  resources: ["userextras/authentication.kubernetes.io/credential-id"]
  verbs: ["impersonate"]
`;
    assert.deepEqual(hitsOf(lintText(gateway(""), kubeOidcProxyRbac(added)), "gateway-impersonation-rbac"), []);
    assert.deepEqual(
      hitsOf(
        lintText(gateway("            - --disable-impersonation\n"), kubeOidcProxyRbac()),
        "gateway-impersonation-rbac",
      ),
      [],
    );
  });

  it("asks for what the settings add: nested impersonation, client IP and extra user headers; 403 when users is missing", () => {
    const role = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: narrow}
rules:
- {apiGroups: ["authentication.k8s.io"], resources: ["*"], verbs: [impersonate], resourceNames: [only-this]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: narrow, namespace: kube-oidc-proxy}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: narrow}
subjects: [{kind: ServiceAccount, name: kube-oidc-proxy}]
`;
    const report = lintText(
      gateway(
        "            - --allow-nested-impersonation\n            - --extra-user-header-client-ip\n            - --extra-user-headers=Team=a,team=b\n",
      ),
      role,
    );
    const [finding] = only(report, "gateway-impersonation-rbac");
    for (const right of [
      "users",
      "groups",
      "uids",
      "userextras/authentication.kube-oidc-gateway.io/original-username",
      "userextras/remote-client-ip",
      "userextras/team",
    ])
      assert.ok(finding?.message.includes(`${right} (`), right);
    assert.match(finding?.message ?? "", /refuse the gateway's requests with 403/);
  });

  it("does not judge a gateway whose bindings are not in the input", () => {
    assert.deepEqual(hitsOf(lintText(gateway("", "other")), "gateway-impersonation-rbac"), []);
    assert.deepEqual(hitsOf(lintText(gateway("", "other"), kubeOidcProxyRbac()), "gateway-impersonation-rbac"), []);
  });
});
