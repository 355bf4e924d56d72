import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hitsOf, lintText, markersIn } from "../helpers.ts";

const pod = (env: string, extra = "") => `apiVersion: v1
kind: Pod
metadata: {name: dash, namespace: dash}
spec:
${extra}  containers:
    - name: dash
      image: example/dash:1
      env:
${env}`;

describe("ssl-cert-file-ineffective", () => {
  it("flags SSL_CERT_FILE on a client pointed at a gateway with the cluster's ca.crt", () => {
    const text = pod(`        - {name: KUBERNETES_SERVICE_HOST, value: kube-oidc-gateway.auth.svc}
        - {name: SSL_CERT_FILE, value: /etc/gateway/ca.crt} # expect: ssl-cert-file-ineffective
`);
    const report = lintText(text);
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.match(
      report.findings[0]?.message ?? "",
      /SSL_CERT_FILE=\/etc\/gateway\/ca\.crt to trust kube-oidc-gateway\.auth\.svc/,
    );
  });

  it("passes when the API host is the cluster's own Service", () => {
    const text = pod(`        - {name: KUBERNETES_SERVICE_HOST, value: kubernetes.default.svc}
        - {name: SSL_CERT_FILE, value: /etc/issuer/ca.crt}
`);
    assert.deepEqual(hitsOf(lintText(text)), []);
  });

  it("passes when the pod brings its own volume at the ServiceAccount directory", () => {
    const text = pod(
      `        - {name: KUBERNETES_SERVICE_HOST, value: kube-oidc-gateway.auth.svc}
        - {name: SSL_CERT_FILE, value: /etc/issuer/ca.crt}
      volumeMounts: [{name: sa, mountPath: /var/run/secrets/kubernetes.io/serviceaccount}]
  volumes:
    - name: sa
      projected:
        sources:
          - serviceAccountToken: {path: token}
          - configMap: {name: gateway-ca-bundle, items: [{key: ca.crt, path: ca.crt}]}
          - downwardAPI: {items: [{path: namespace, fieldRef: {fieldPath: metadata.namespace}}]}
`,
      "  automountServiceAccountToken: false\n",
    );
    assert.deepEqual(hitsOf(lintText(text)), []);
  });
});
