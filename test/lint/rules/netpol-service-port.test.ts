import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hitsOf, lintText, markersIn, only } from "../helpers.ts";

const apiService = `apiVersion: v1
kind: Service
metadata: {name: api, namespace: api}
spec:
  selector: {app: api}
  ports:
    - {name: https, port: 443, targetPort: 8443}
`;

const egressPolicy = (port: number) => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-egress, namespace: web}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
    - to:
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: api}}
          podSelector: {matchLabels: {app: api}}
      ports:
        - protocol: TCP
          port: ${port} # expect: netpol-service-port
`;

describe("netpol-service-port", () => {
  it("flags a NetworkPolicy egress port that is the Service port, not its targetPort", () => {
    const policy = egressPolicy(443);
    const report = lintText(policy, apiService);
    assert.deepEqual(hitsOf(report), markersIn(policy));
    const [finding] = only(report, "netpol-service-port");
    assert.match(
      finding?.message ?? "",
      /egress port 443 is the port of Service api\/api, which forwards it to targetPort 8443/,
    );
    assert.equal(finding?.fix, "Allow port 8443 (the pod's port) instead of 443.");
    assert.equal(finding?.severity, "error");
  });

  it("passes the same policy on the pod port", () => {
    assert.deepEqual(hitsOf(lintText(egressPolicy(8443), apiService)), []);
  });

  it("resolves a named targetPort through the pods of a workload selected by labels the Service does not name", () => {
    // The policy selects `tier: backend`, a label only the Deployment's pods carry; the Service
    // forwards to the container port named "https", which only the Deployment defines.
    const policy = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: web}
spec:
  endpointSelector: {matchLabels: {app: web}}
  egress:
    - toEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: api
            tier: backend
      toPorts:
        - ports:
            - port: "443" # expect: netpol-service-port
              protocol: TCP
`;
    const service = `apiVersion: v1
kind: Service
metadata: {name: api, namespace: api}
spec:
  selector: {app: api}
  ports:
    - {port: 443, targetPort: https}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: api}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api, tier: backend}}
    spec:
      containers:
        - name: server
          image: example/api:1
          ports:
            - {name: https, containerPort: 9443}
`;
    const report = lintText(policy, service);
    assert.deepEqual(hitsOf(report), markersIn(policy));
    assert.match(
      only(report, "netpol-service-port")[0]?.message ?? "",
      /targetPort 9443 \(the container port named https in container server\)/,
    );
  });

  it("stays silent when a named targetPort cannot be resolved from the input", () => {
    const service = apiService.replace("targetPort: 8443", "targetPort: https");
    assert.deepEqual(hitsOf(lintText(egressPolicy(443), service)), []);
  });

  it("flags an ingress port of the policy's own pods", () => {
    const policy = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-ingress, namespace: api}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
    - ports:
        - port: 443 # expect: netpol-service-port
`;
    assert.deepEqual(hitsOf(lintText(policy, apiService)), markersIn(policy));
  });

  it("passes when the pods also listen on the Service port", () => {
    const workload = `apiVersion: v1
kind: Pod
metadata: {name: api, namespace: api, labels: {app: api}}
spec:
  containers:
    - name: server
      image: example/api:1
      ports: [{containerPort: 443}, {containerPort: 8443}]
`;
    assert.deepEqual(hitsOf(lintText(egressPolicy(443), apiService, workload)), []);
  });

  it("ignores Services in another namespace than the peer selects", () => {
    const elsewhere = apiService.replace("namespace: api", "namespace: other");
    assert.deepEqual(hitsOf(lintText(egressPolicy(443), elsewhere)), []);
  });

  it("is disabled by the object's annotation and re-graded by another", () => {
    const disabled = egressPolicy(443).replace(
      "metadata: {name: web-egress, namespace: web}",
      'metadata: {name: web-egress, namespace: web, annotations: {lint.kube-oidc-gateway.io/disable: "netpol-service-port"}}',
    );
    assert.deepEqual(hitsOf(lintText(disabled, apiService)), []);
    const regraded = egressPolicy(443).replace(
      "metadata: {name: web-egress, namespace: web}",
      'metadata: {name: web-egress, namespace: web, annotations: {lint.kube-oidc-gateway.io/severity: "netpol-service-port=info"}}',
    );
    assert.deepEqual(
      lintText(regraded, apiService).findings.map((f) => f.severity),
      ["info"],
    );
  });
});
