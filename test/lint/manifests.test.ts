import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadManifests } from "../../src/lint/manifests.ts";
import { asRecord } from "../../src/lint/objects.ts";

describe("loadManifests", () => {
  it("reads every document of a stream and the items of a List, each with positions of its own", () => {
    const text = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata: {name: a, namespace: x}
    spec:
      ports:
        - port: 443
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: b
`;
    const { objects, syntaxProblems } = loadManifests([{ file: "m.yaml", text }]);
    assert.deepEqual(syntaxProblems, []);
    assert.deepEqual(
      objects.map((o) => `${o.kind} ${o.namespace ?? "-"}/${o.name}`),
      ["Service x/a", "ConfigMap -/b"],
    );
    assert.deepEqual(objects[0]?.position(["spec", "ports", 0, "port"]), { line: 9, column: 11 });
    assert.deepEqual(objects[1]?.position(["metadata", "name"]), { line: 14, column: 3 });
    // A field that does not exist is placed at its deepest ancestor that does.
    assert.deepEqual(objects[1]?.position(["metadata", "labels", "app"]), { line: 13, column: 1 });
  });

  it("names the template of each document from helm template's # Source comments", () => {
    const text = `---
# Source: chart/templates/a.yaml
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: no-source}
---
# Source: chart/templates/c.yaml
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
`;
    const { objects } = loadManifests([{ file: "<stdin>", text }]);
    assert.deepEqual(
      objects.map((o) => o.source),
      ["chart/templates/a.yaml", undefined, "chart/templates/c.yaml"],
    );
  });

  it("places fields of YAML embedded in a block scalar at their line in the outer file", () => {
    const text = `kind: ConfigMap
metadata: {name: kubeadm-config}
data:
  ClusterConfiguration: |
    apiServer:
      extraArgs:
        oidc-issuer-url: https://issuer.example.com
apiVersion: v1
`;
    const [object] = loadManifests([{ file: "c.yaml", text }]).objects;
    const [embedded] = object?.embedded(["data", "ClusterConfiguration"]) ?? [];
    assert.deepEqual(embedded?.position(["apiServer", "extraArgs", "oidc-issuer-url"]), { line: 7, column: 9 });
  });

  it("reads JSON files", () => {
    const { objects } = loadManifests([
      { file: "s.json", text: '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "j"}}' },
    ]);
    assert.equal(objects[0]?.name, "j");
  });

  it("reads YAML 1.1 as kubectl does (no/on/yes are booleans, 0755 is octal) and keeps positions", () => {
    const text = `kind: Pod
metadata: {name: p, annotations: {when: 2024-01-02, at: 1:30}}
spec:
  automountServiceAccountToken: no
  hostNetwork: on
  securityContext: {fsGroup: 0755}
apiVersion: v1
`;
    const [object] = loadManifests([{ file: "p.yaml", text }]).objects;
    const spec = object?.body.spec as Record<string, unknown>;
    assert.equal(spec.automountServiceAccountToken, false);
    assert.equal(spec.hostNetwork, true);
    assert.deepEqual(spec.securityContext, { fsGroup: 493 });
    // go-yaml v2 has no base-60 numbers and leaves timestamps as strings in unstructured objects.
    assert.deepEqual(asRecord(object?.body.metadata).annotations, {
      when: "2024-01-02",
      at: "1:30",
    });
    assert.deepEqual(object?.position(["spec", "automountServiceAccountToken"]), { line: 4, column: 3 });
  });
});
