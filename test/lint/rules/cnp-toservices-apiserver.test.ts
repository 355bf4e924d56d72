import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hitsOf, lintText, markersIn } from "../helpers.ts";

const policy = (egress: string) => `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: dashboard, namespace: dashboard}
spec:
  endpointSelector: {matchLabels: {app: dashboard}}
  egress:
${egress}`;

describe("cnp-toservices-apiserver", () => {
  it("flags toServices naming default/kubernetes", () => {
    const text = policy(`    - toServices:
        - k8sService: # expect: cnp-toservices-apiserver
            serviceName: kubernetes
            namespace: default
      toPorts:
        - ports: [{port: "443", protocol: TCP}]
`);
    const report = lintText(text);
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.match(report.findings[0]?.fix ?? "", /toEntities: \[kube-apiserver\]/);
  });

  it("flags a k8sServiceSelector that selects the API server's Service by its labels", () => {
    const text = policy(`    - toServices:
        - k8sServiceSelector: # expect: cnp-toservices-apiserver
            namespace: default
            selector: {matchLabels: {component: apiserver, provider: kubernetes}}
`);
    assert.deepEqual(hitsOf(lintText(text)), markersIn(text));
  });

  it("passes the kube-apiserver entity and toServices aimed elsewhere", () => {
    const text = policy(`    - toEntities: [kube-apiserver]
      toPorts:
        - ports: [{port: "6443", protocol: TCP}]
    - toServices:
        - k8sService: {serviceName: keycloak, namespace: keycloak}
`);
    assert.deepEqual(hitsOf(lintText(text)), []);
  });
});
