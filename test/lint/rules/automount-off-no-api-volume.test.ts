import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hitsOf, lintText, markersIn, only } from "../helpers.ts";

const deployment = (spec: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: dash, namespace: dash}
spec:
  selector: {matchLabels: {app: dash}}
  template:
    metadata: {labels: {app: dash}}
    spec:
${spec}`;

describe("automount-off-no-api-volume", () => {
  it("flags a known API client with automount off on the pod and nothing at the directory", () => {
    const text = deployment(`      automountServiceAccountToken: false # expect: automount-off-no-api-volume
      containers:
        - name: headlamp
          image: ghcr.io/headlamp-k8s/headlamp:v0.39.0
`);
    const report = lintText(text);
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.match(
      report.findings[0]?.message ?? "",
      /it runs ghcr\.io\/headlamp-k8s\/headlamp:v0\.39\.0, a Kubernetes API client/,
    );
  });

  it("takes automount off from the ServiceAccount and 'talks to the API' from a RoleBinding in the input", () => {
    const text = deployment(`      serviceAccountName: reporter
      containers:
        - name: reporter # expect: automount-off-no-api-volume
          image: example/reporter:1
`);
    const account = `apiVersion: v1
kind: ServiceAccount
metadata: {name: reporter, namespace: dash}
automountServiceAccountToken: false
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reporter, namespace: dash}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
subjects:
  - {kind: ServiceAccount, name: reporter}
`;
    const report = lintText(text, account);
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.match(report.findings[0]?.message ?? "", /ServiceAccount reporter sets automountServiceAccountToken: false/);
    assert.match(report.findings[0]?.message ?? "", /bound by RoleBinding reporter/);
  });

  it("flags a projected volume that lacks the namespace file", () => {
    const text = deployment(`      automountServiceAccountToken: false
      containers:
        - name: app
          image: example/app:1
          env: [{name: KUBERNETES_SERVICE_HOST, value: kube-oidc-gateway.auth.svc}]
          volumeMounts:
            - name: sa
              mountPath: /var/run/secrets/kubernetes.io/serviceaccount # expect: automount-off-no-api-volume
      volumes:
        - name: sa
          projected:
            sources:
              - serviceAccountToken: {path: token}
              - configMap: {name: kube-root-ca.crt, items: [{key: ca.crt, path: ca.crt}]}
`);
    const report = lintText(text);
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.match(only(report, "automount-off-no-api-volume")[0]?.message ?? "", /lacks namespace;/);
    // rest.InClusterConfig reads only token and ca.crt, so the missing namespace is a warning.
    assert.equal(only(report, "automount-off-no-api-volume")[0]?.severity, "warning");
    assert.match(only(report, "automount-off-no-api-volume")[0]?.message ?? "", /still works/);
  });

  it("counts a projected clusterTrustBundle (or podCertificate) source as providing ca.crt", () => {
    const text = deployment(`      automountServiceAccountToken: false
      containers:
        - name: headlamp
          image: ghcr.io/headlamp-k8s/headlamp:v0.39.0
          volumeMounts: [{name: sa, mountPath: /var/run/secrets/kubernetes.io/serviceaccount}]
      volumes:
        - name: sa
          projected:
            sources:
              - serviceAccountToken: {path: token}
              - clusterTrustBundle: {signerName: example.com/gateway, labelSelector: {}, path: ca.crt}
              - downwardAPI: {items: [{path: namespace, fieldRef: {fieldPath: metadata.namespace}}]}
`);
    assert.deepEqual(hitsOf(lintText(text)), []);
    const podCertificate = text.replace(
      "clusterTrustBundle: {signerName: example.com/gateway, labelSelector: {}, path: ca.crt}",
      "podCertificate: {signerName: example.com/gateway, keyType: ED25519, credentialBundlePath: ca.crt}",
    );
    assert.deepEqual(hitsOf(lintText(podCertificate)), []);
  });

  it("knows which dashboard images talk to the API: not kubeapps-dashboard or dashboard-web", () => {
    const withImage = (image: string) =>
      deployment(`      automountServiceAccountToken: false
      containers:
        - {name: app, image: ${image}}
`);
    for (const image of [
      "docker.io/bitnami/kubeapps-dashboard:2.12.0",
      "docker.io/kubernetesui/dashboard-web:1.6.0",
      "docker.io/example/dashboard:1",
    ]) {
      assert.deepEqual(hitsOf(lintText(withImage(image))), [], image);
    }
    for (const image of [
      "docker.io/bitnami/kubeapps-apis:2.12.0",
      "docker.io/bitnami/kubeapps-apprepository-controller:2.12.0",
      "docker.io/kubernetesui/dashboard:v2.7.0",
      "docker.io/kubernetesui/dashboard-api:1.10.0",
      "kubernetesui/dashboard-auth:1.2.0",
    ]) {
      assert.deepEqual(hitsOf(lintText(withImage(image))), ["automount-off-no-api-volume@9"], image);
    }
  });

  it("reads automountServiceAccountToken: no as false, as kubectl's YAML 1.1 reader does", () => {
    const text = deployment(`      automountServiceAccountToken: no # expect: automount-off-no-api-volume
      containers:
        - name: headlamp
          image: ghcr.io/headlamp-k8s/headlamp:v0.39.0
`);
    assert.deepEqual(hitsOf(lintText(text)), markersIn(text));
  });

  it("passes a complete projected volume, a workload that is no API client, and one given a kubeconfig", () => {
    const complete = deployment(`      automountServiceAccountToken: false
      containers:
        - name: headlamp
          image: ghcr.io/headlamp-k8s/headlamp:v0.39.0
          volumeMounts: [{name: sa, mountPath: /var/run/secrets/kubernetes.io/serviceaccount}]
      volumes:
        - name: sa
          projected:
            sources:
              - serviceAccountToken: {path: token}
              - configMap: {name: kube-root-ca.crt, items: [{key: ca.crt, path: ca.crt}]}
              - downwardAPI: {items: [{path: namespace, fieldRef: {fieldPath: metadata.namespace}}]}
`);
    const web = deployment(`      automountServiceAccountToken: false
      containers:
        - {name: web, image: nginx:1.27}
`);
    const kubeconfig = deployment(`      automountServiceAccountToken: false
      containers:
        - name: headlamp
          image: ghcr.io/headlamp-k8s/headlamp:v0.39.0
          args: [--kubeconfig=/etc/kube/config]
`);
    assert.deepEqual(hitsOf(lintText(complete)), []);
    assert.deepEqual(hitsOf(lintText(web)), []);
    assert.deepEqual(hitsOf(lintText(kubeconfig)), []);
  });
});
