import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hitsOf, lintText, markersIn } from "../helpers.ts";

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

  it("flags missing and doubled username prefixes and leaves system: subjects alone", () => {
    const text = binding(`  - kind: User
    name: alice # expect: rbac-subject-prefix
  - kind: User
    name: oidc:oidc:bob # expect: rbac-subject-prefix
  - {kind: User, name: "oidc:carol"}
  - {kind: Group, name: "system:masters"}
`);
    const report = lintText(
      text,
      gateway('            - "--oidc-username-prefix=oidc:"\n            - --oidc-username-claim=preferred_username\n'),
    );
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.equal(report.findings[0]?.fix, "Write the subject as 'oidc:alice'.");
    assert.match(report.findings[1]?.message ?? "", /carries the prefix 'oidc:' twice/);
  });

  it("knows kube-apiserver's default prefix '<issuer>#' when none is set", () => {
    const text = binding(`  - kind: User
    name: alice # expect: rbac-subject-prefix
`);
    const report = lintText(text, gateway(""));
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.equal(report.findings[0]?.fix, "Write the subject as 'https://keycloak.example.com/realms/kube#alice'.");
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
    assert.deepEqual(hitsOf(lintText(text, config)), markersIn(text));
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
});
