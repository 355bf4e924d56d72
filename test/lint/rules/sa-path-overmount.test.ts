import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hitsOf, lintText, markersIn } from "../helpers.ts";

const pod = (spec: string) => `apiVersion: v1
kind: Pod
metadata: {name: app, namespace: apps}
spec:
${spec}`;

const projected = `  volumes:
    - name: sa
      projected:
        sources:
          - serviceAccountToken: {path: token}
          - configMap: {name: gateway-ca-bundle, items: [{key: ca.crt, path: ca.crt}]}
          - downwardAPI: {items: [{path: namespace, fieldRef: {fieldPath: metadata.namespace}}]}
    - name: ca
      configMap: {name: gateway-ca-bundle}
`;

describe("sa-path-overmount", () => {
  it("flags a subPath file mounted over the automounted ca.crt", () => {
    const text = pod(`  containers:
    - name: app
      image: example/app:1
      volumeMounts:
        - name: ca
          mountPath: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
          subPath: ca.crt # expect: sa-path-overmount
${projected}`);
    const report = lintText(text);
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.match(report.findings[0]?.message ?? "", /not a directory/);
  });

  it("flags a mount inside the pod's own volume at the directory, even with automount off", () => {
    const text = pod(`  automountServiceAccountToken: false
  containers:
    - name: app
      image: example/app:1
      volumeMounts:
        - name: sa
          mountPath: /var/run/secrets/kubernetes.io/serviceaccount
        - name: ca
          mountPath: /var/run/secrets/kubernetes.io/serviceaccount/extra-ca.crt # expect: sa-path-overmount
${projected}`);
    assert.deepEqual(hitsOf(lintText(text)), markersIn(text));
  });

  it("flags a subPath mounted as the directory itself", () => {
    const text = pod(`  automountServiceAccountToken: false
  containers:
    - name: app
      image: example/app:1
      volumeMounts:
        - name: ca
          mountPath: /var/run/secrets/kubernetes.io/serviceaccount
          subPath: ca.crt # expect: sa-path-overmount
${projected}`);
    assert.deepEqual(hitsOf(lintText(text)), markersIn(text));
  });

  it("passes a whole volume mounted exactly at the directory with automount off (the incident's fix)", () => {
    const text = pod(`  automountServiceAccountToken: false
  containers:
    - name: app
      image: example/app:1
      volumeMounts:
        - name: sa
          mountPath: /var/run/secrets/kubernetes.io/serviceaccount/
          readOnly: true
${projected}`);
    assert.deepEqual(hitsOf(lintText(text)), []);
  });

  it("passes a file under the directory when nothing else is mounted there", () => {
    const text = pod(`  automountServiceAccountToken: false
  containers:
    - name: app
      image: example/app:1
      volumeMounts:
        - name: ca
          mountPath: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
          subPath: ca.crt
${projected}`);
    assert.deepEqual(hitsOf(lintText(text), "sa-path-overmount"), []);
  });
});
