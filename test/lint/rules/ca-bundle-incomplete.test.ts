import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hitsOf, lintText, markersIn, only } from "../helpers.ts";

const client = (host: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: dash, namespace: dash}
spec:
  selector: {matchLabels: {app: dash}}
  template:
    metadata: {labels: {app: dash}}
    spec:
      automountServiceAccountToken: false
      containers:
        - name: dash
          image: example/dash:1
          env: [{name: KUBERNETES_SERVICE_HOST, value: ${host}}]
          volumeMounts: [{name: sa, mountPath: /var/run/secrets/kubernetes.io/serviceaccount}]
      volumes:
        - name: sa
          projected:
            sources:
              - serviceAccountToken: {path: token}
              - configMap: {name: gateway-ca-bundle, items: [{key: ca.crt, path: ca.crt}]}
              - downwardAPI: {items: [{path: namespace, fieldRef: {fieldPath: metadata.namespace}}]}
`;

const bundle = (sources: string) => `apiVersion: trust.cert-manager.io/v1alpha1
kind: Bundle
metadata: {name: gateway-ca-bundle}
spec:
  sources: # expect: ca-bundle-incomplete
${sources}  target:
    configMap: {key: ca.crt}
`;

describe("ca-bundle-incomplete", () => {
  it("flags a Bundle without kube-root-ca.crt mounted as the ca.crt of a client of a gateway", () => {
    const text = bundle("    - secret: {name: root-ca-secret, key: ca.crt}\n");
    const report = lintText(text, client("kube-oidc-gateway.auth.svc"));
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.match(
      only(report, "ca-bundle-incomplete")[0]?.message ?? "",
      /lacks the cluster CA \(configMap kube-root-ca\.crt\); Deployment dash\/dash/,
    );
  });

  it("flags a Bundle holding only the cluster CA", () => {
    const text = bundle("    - configMap: {name: kube-root-ca.crt, key: ca.crt}\n");
    const report = lintText(text, client("kube-oidc-gateway.auth.svc"));
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.match(report.findings[0]?.message ?? "", /holds no CA besides the cluster's/);
  });

  it("passes a Bundle with both CAs, and a Bundle no gateway client mounts", () => {
    const both = bundle(
      "    - secret: {name: root-ca-secret, key: ca.crt}\n    - configMap: {name: kube-root-ca.crt, key: ca.crt}\n",
    );
    assert.deepEqual(hitsOf(lintText(both, client("kube-oidc-gateway.auth.svc"))), []);
    const partial = bundle("    - secret: {name: root-ca-secret, key: ca.crt}\n");
    assert.deepEqual(hitsOf(lintText(partial, client("kubernetes.default.svc"))), []);
  });
});
