import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hitsOf, lintText, lintTextWithConfig, markersIn } from "../helpers.ts";

const binding = (subjects: string) => `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: people}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
${subjects}`;

const gateway = (args: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: kube-oidc-gateway, namespace: auth}
spec:
  selector: {matchLabels: {app: gw}}
  template:
    metadata: {labels: {app: gw}}
    spec:
      containers:
        - name: gateway
          image: ghcr.io/example/kube-oidc-gateway:0.1.0
          args:
            - serve
            - --oidc-issuer-url=https://keycloak.example.com/realms/kube
            - --oidc-client-id=kubernetes
${args}`;

describe("rbac-subject-prefix", () => {
  it("says nothing when the input configures no OIDC", () => {
    assert.deepEqual(hitsOf(lintText(binding("  - {kind: User, name: alice}\n"))), []);
  });

  it("flags a doubled prefix at the rule's severity and leaves system: and kubeadm: subjects alone", () => {
    const text = binding(`  - kind: User
    name: oidc:oidc:bob # expect: rbac-subject-prefix
  - {kind: User, name: "oidc:carol"}
  - {kind: Group, name: "system:masters"}
  - {kind: Group, name: "kubeadm:cluster-admins"}
`);
    const report = lintText(
      text,
      gateway('            - "--oidc-username-prefix=oidc:"\n            - --oidc-username-claim=preferred_username\n'),
    );
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.match(report.findings[0]?.message ?? "", /carries the prefix 'oidc:' twice/);
    assert.equal(report.findings[0]?.severity, "error");
    assert.equal(report.findings[0]?.fix, "Write the subject as 'oidc:bob'.");
  });

  it("does not suggest prefixing kubeadm's binding or a client-certificate user: at most info, softly worded", () => {
    // kubeadm's own ClusterRoleBinding (kubeadm:cluster-admins → cluster-admin) and a user
    // authenticated by her client certificate (CN=jane) never carry the OIDC prefix.
    const kubeadm = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "kubeadm:cluster-admins"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "kubeadm:cluster-admins"}
`;
    const jane = binding(`  - kind: User
    name: jane # expect: rbac-subject-prefix
`);
    const config = gateway(
      '            - "--oidc-username-prefix=oidc:"\n            - --oidc-groups-claim=groups\n            - "--oidc-groups-prefix=oidc:"\n',
    );
    const report = lintText(kubeadm, jane, config);
    assert.deepEqual(hitsOf(report), markersIn(jane));
    const [finding] = report.findings;
    assert.equal(finding?.severity, "info");
    assert.match(
      finding?.message ?? "",
      /does not carry the prefix 'oidc:'.*; if this is an OIDC user it will not match/,
    );
    assert.doesNotMatch(finding?.message ?? "", /never/);
    assert.match(
      finding?.fix ?? "",
      /^If 'jane' comes from OIDC, write the subject as 'oidc:jane'; otherwise leave it/,
    );
    // Not even a config file grading the rule as error lifts such a note above info.
    const graded = lintTextWithConfig("rules: {rbac-subject-prefix: error}\n", kubeadm, jane, config);
    assert.deepEqual(
      graded.findings.map((f) => f.severity),
      ["info"],
    );
  });

  it("reports a missing prefix at the rule's severity when the name is shaped like the claim", () => {
    const email = binding(`  - kind: User
    name: alice@example.com # expect: rbac-subject-prefix
  - kind: Group
    name: /platform # expect: rbac-subject-prefix
  - kind: User
    name: keycloak:dave # expect: rbac-subject-prefix
`);
    const report = lintText(
      email,
      gateway(
        '            - "--oidc-username-prefix=oidc:"\n            - --oidc-username-claim=email\n            - --oidc-groups-claim=groups\n            - "--oidc-groups-prefix=oidc:"\n',
      ),
    );
    assert.deepEqual(hitsOf(report), markersIn(email));
    assert.deepEqual(
      report.findings.map((f) => f.severity),
      ["error", "error", "error"],
    );
    assert.match(report.findings[0]?.message ?? "", /it is an email and the username claim is email/);
    assert.equal(report.findings[0]?.fix, "Write the subject as 'oidc:alice@example.com'.");
    assert.match(report.findings[1]?.message ?? "", /a Keycloak-style group path/);
    assert.match(report.findings[2]?.message ?? "", /carries the prefix 'keycloak:', but/);
    assert.equal(report.findings[2]?.fix, "Write the subject as 'oidc:dave'.");
  });

  it("knows kube-apiserver's default prefix '<issuer>#' when none is set", () => {
    const text = binding(`  - kind: User
    name: alice # expect: rbac-subject-prefix
  - kind: User
    name: 2b1c3d4e-0000-4000-8000-00000000abcd # expect: rbac-subject-prefix
`);
    const report = lintText(text, gateway(""));
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.equal(report.findings[0]?.severity, "info");
    assert.match(
      report.findings[0]?.fix ?? "",
      /write the subject as 'https:\/\/keycloak\.example\.com\/realms\/kube#alice'/,
    );
    // A UUID is what Keycloak puts in the sub claim, the default username claim.
    assert.equal(report.findings[1]?.severity, "error");
    assert.equal(
      report.findings[1]?.fix,
      "Write the subject as 'https://keycloak.example.com/realms/kube#2b1c3d4e-0000-4000-8000-00000000abcd'.",
    );
  });

  it("reads the groups prefix of an AuthenticationConfiguration kept in a ConfigMap", () => {
    const config = `apiVersion: v1
kind: ConfigMap
metadata: {name: auth-config, namespace: kube-system}
data:
  config.yaml: |
    apiVersion: apiserver.config.k8s.io/v1beta1
    kind: AuthenticationConfiguration
    jwt:
      - issuer: {url: https://issuer.example.com, audiences: [kubernetes]}
        claimMappings:
          username: {claim: email, prefix: ""}
          groups: {claim: groups, prefix: "oidc:"}
`;
    const text = binding(`  - kind: Group
    name: admins # expect: rbac-subject-prefix
  - {kind: Group, name: "oidc:viewers"}
  - {kind: User, name: alice@example.com}
`);
    const report = lintText(text, config);
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.equal(report.findings[0]?.severity, "info", "'admins' may be a group of another authenticator");
  });

  it("flags a group written without the full path Keycloak's mapper sends", () => {
    const realm = `{"realm": "kube", "clients": [{"clientId": "kubernetes", "protocolMappers": [
  {"name": "groups", "protocolMapper": "oidc-group-membership-mapper",
   "config": {"claim.name": "groups", "full.path": "true"}}]}]}
`;
    const text = binding(`  - kind: Group
    name: oidc:team # expect: rbac-subject-prefix
  - {kind: Group, name: "oidc:/platform"}
`);
    const report = lintText(
      text,
      gateway(
        '            - "--oidc-username-prefix=oidc:"\n            - --oidc-groups-claim=groups\n            - "--oidc-groups-prefix=oidc:"\n',
      ),
      realm,
    );
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.equal(report.findings[0]?.fix, "Write the subject as 'oidc:/team', or turn full.path off in the mapper.");
  });

  it("treats a user or group of the Keycloak realm in the input as a near miss (the incident's testuser)", () => {
    const realm = `{"realm": "kube", "users": [{"username": "testuser", "email": "test@example.com"}],
 "groups": [{"name": "platform", "subGroups": [{"name": "sre"}]}]}
`;
    const text = binding(`  - kind: User
    name: testuser # expect: rbac-subject-prefix
  - kind: Group
    name: platform # expect: rbac-subject-prefix
  - kind: User
    name: jane # expect: rbac-subject-prefix
`);
    const report = lintText(
      text,
      gateway(
        '            - "--oidc-username-prefix=oidc:"\n            - --oidc-username-claim=preferred_username\n            - --oidc-groups-claim=groups\n            - "--oidc-groups-prefix=oidc:"\n',
      ),
      realm,
    );
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.deepEqual(
      report.findings.map((f) => f.severity),
      ["error", "error", "info"],
    );
    assert.match(report.findings[0]?.message ?? "", /'testuser' is a user of a Keycloak realm in the input/);
    assert.equal(report.findings[1]?.fix, "Write the subject as 'oidc:platform'.");
  });
});
