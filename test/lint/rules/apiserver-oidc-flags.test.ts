import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redactArgument } from "../../../src/lint/rules/apiserver-oidc-flags.ts";
import { hitsOf, lintText, markersIn } from "../helpers.ts";

const staticPod = (flags: string) => `apiVersion: v1
kind: Pod
metadata: {name: kube-apiserver-control-plane, namespace: kube-system}
spec:
  hostNetwork: true
  containers:
    - name: kube-apiserver
      image: registry.k8s.io/kube-apiserver:v1.31.2
      command:
        - kube-apiserver
        - --secure-port=6443
${flags}`;

describe("apiserver-oidc-flags", () => {
  it("flags --oidc-* combined with --authentication-config as an error at the first OIDC flag", () => {
    const text = staticPod(`        - --authentication-config=/etc/kubernetes/auth/config.yaml
        - --oidc-issuer-url=https://issuer.example.com # expect: apiserver-oidc-flags
        - --oidc-client-id=kubernetes
`);
    const report = lintText(text);
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.equal(report.findings[0]?.severity, "error");
    assert.match(report.findings[0]?.message ?? "", /mutually exclusive/);
  });

  it("warns about an issuer without a username prefix in kubeadm's extraArgs", () => {
    const text = `apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
apiServer:
  extraArgs:
    oidc-issuer-url: https://issuer.example.com # expect: apiserver-oidc-flags
    oidc-client-id: kubernetes
`;
    const report = lintText(text);
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.equal(report.findings[0]?.severity, "warning");
    assert.match(
      report.findings[0]?.message ?? "",
      /usernames from the sub claim become 'https:\/\/issuer\.example\.com#<sub>'/,
    );
  });

  it("finds the flag inside a kind Cluster's kubeadmConfigPatches, at its own line", () => {
    const text = `apiVersion: kind.x-k8s.io/v1alpha4
kind: Cluster
nodes:
  - role: control-plane
    kubeadmConfigPatches:
      - |
        kind: ClusterConfiguration
        apiServer:
          extraArgs:
            authentication-config: /etc/kubernetes/auth.yaml
            oidc-client-id: kubernetes # expect: apiserver-oidc-flags
`;
    const report = lintText(text);
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.equal(report.findings[0]?.column, 13);
  });

  it("flags an --oidc-* argument that YAML read as a mapping", () => {
    const text = staticPod(`        - --oidc-issuer-url=https://issuer.example.com
        - --oidc-username-prefix=oidc: # expect: apiserver-oidc-flags
`);
    const report = lintText(text);
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.match(report.findings[0]?.fix ?? "", /Quote the argument: - "--oidc-username-prefix=oidc:"/);
  });

  it("passes an explicit prefix and the email claim", () => {
    const prefixed = staticPod(`        - --oidc-issuer-url=https://issuer.example.com
        - "--oidc-username-prefix=-"
`);
    const email = staticPod(`        - --oidc-issuer-url=https://issuer.example.com
        - --oidc-username-claim=email
`);
    assert.deepEqual(hitsOf(lintText(prefixed)), []);
    assert.deepEqual(hitsOf(lintText(email)), []);
  });

  it("redacts the value of a secret-looking flag it quotes back (client secret, token, password, key)", () => {
    const text = staticPod(`        - -oidc-client-secret=s3cr3t-value: # expect: apiserver-oidc-flags
        - --oidc-issuer-url=https://issuer.example.com:
`);
    const report = lintText(text);
    assert.deepEqual(hitsOf(report, "apiserver-oidc-flags").slice(0, 1), markersIn(text));
    const output = JSON.stringify(report.findings);
    assert.doesNotMatch(output, /s3cr3t-value/);
    assert.match(report.findings[0]?.message ?? "", /argument -oidc-client-secret=<redacted>: of container/);
    assert.equal(report.findings[0]?.fix, 'Quote the argument: - "-oidc-client-secret=<redacted>:"');
    // Values of other flags are still shown: they are what the user has to find.
    assert.match(report.findings[1]?.message ?? "", /--oidc-issuer-url=https:\/\/issuer\.example\.com:/);
    assert.equal(redactArgument("--oidc-signing-key-file=/k"), "--oidc-signing-key-file=<redacted>");
    assert.equal(redactArgument("--oidc-access-token=abc"), "--oidc-access-token=<redacted>");
    assert.equal(redactArgument("--oidc-password=abc"), "--oidc-password=<redacted>");
  });
});
