import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hitsOf, lintText, markersIn, only } from "../helpers.ts";

// The gateway of issue 18's loop: the browser login in front of Headlamp on 8443, optionally the
// API alone on 8444; a Service with 443 → https and 6443 → api.
const gateway = (args: string, config = "") => `apiVersion: apps/v1
kind: Deployment
metadata: {name: kube-oidc-gateway, namespace: kube-oidc-gateway}
spec:
  selector: {matchLabels: {app: gateway}}
  template:
    metadata: {labels: {app: gateway}}
    spec:
      containers:
        - name: gateway
          image: ghcr.io/example/kube-oidc-gateway:0.1.0
          args: [serve${args}]
          ports:
            - {name: https, containerPort: 8443}
            - {name: api, containerPort: 8444}
${config}---
apiVersion: v1
kind: Service
metadata: {name: kube-oidc-gateway, namespace: kube-oidc-gateway}
spec:
  selector: {app: gateway}
  ports:
    - {name: https, port: 443, targetPort: https}
    - {name: api, port: 6443, targetPort: api}
`;
const sessions = ", --secure-port=8443, --session-client-id=gateway, --dashboard-upstream=http://headlamp.headlamp.svc";

const headlamp = (host: string, port: string, marker = "") => `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: headlamp, namespace: headlamp}
spec:
  selector: {matchLabels: {app: headlamp}}
  template:
    metadata: {labels: {app: headlamp}}
    spec:
      containers:
        - name: headlamp
          image: ghcr.io/headlamp-k8s/headlamp:v0.45.0
          args: [-in-cluster]
          env:
            - {name: KUBERNETES_SERVICE_HOST, value: ${host}}
            - {name: KUBERNETES_SERVICE_PORT, value: "${port}"}${marker}
`;

describe("api-client-on-session-port", () => {
  it("flags a dashboard whose in-cluster API is the gateway's session port (the login loop of issue 18)", () => {
    const text =
      gateway(sessions) +
      headlamp("kube-oidc-gateway.kube-oidc-gateway.svc", "443", " # expect: api-client-on-session-port");
    const report = lintText(text);
    assert.deepEqual(hitsOf(report, "api-client-on-session-port"), markersIn(text));
    const [finding] = only(report, "api-client-on-session-port");
    assert.match(
      finding?.message ?? "",
      /kube-oidc-gateway\.kube-oidc-gateway\.svc:443, which reaches the gateway's --secure-port 8443/,
    );
    assert.match(finding?.fix ?? "", /Set the gateway's --api-port/);
  });

  it("names the API port in the fix when the gateway has one", () => {
    const text =
      gateway(`${sessions}, --api-port=8444`) +
      headlamp("kube-oidc-gateway.kube-oidc-gateway", "443", " # expect: api-client-on-session-port");
    const report = lintText(text);
    assert.deepEqual(hitsOf(report, "api-client-on-session-port"), markersIn(text));
    assert.match(only(report, "api-client-on-session-port")[0]?.fix ?? "", /--api-port 8444/);
  });

  it("passes a client pointed at the API port", () => {
    const text = gateway(`${sessions}, --api-port=8444`) + headlamp("kube-oidc-gateway.kube-oidc-gateway.svc", "6443");
    assert.deepEqual(hitsOf(lintText(text), "api-client-on-session-port"), []);
  });

  it("passes a gateway without a dashboard: its main port serves the API at /", () => {
    const text = gateway(", --secure-port=8443") + headlamp("kube-oidc-gateway.kube-oidc-gateway.svc", "443");
    assert.deepEqual(hitsOf(lintText(text), "api-client-on-session-port"), []);
  });

  it("reads the gateway's settings from its config file, as the chart writes them", () => {
    const text =
      gateway(
        ", --config=/etc/kube-oidc-gateway/config.yaml",
        `          volumeMounts: [{name: config, mountPath: /etc/kube-oidc-gateway}]
      volumes:
        - {name: config, configMap: {name: kube-oidc-gateway}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kube-oidc-gateway, namespace: kube-oidc-gateway}
data:
  config.yaml: |
    secure-port: 8443
    session-client-id: gateway
    dashboard-upstream: http://headlamp.headlamp.svc
`,
      ) +
      headlamp("kube-oidc-gateway.kube-oidc-gateway.svc.cluster.local", "443", " # expect: api-client-on-session-port");
    assert.deepEqual(hitsOf(lintText(text), "api-client-on-session-port"), markersIn(text));
  });

  it("leaves hosts it cannot resolve to a Service of the input alone", () => {
    const text = gateway(sessions) + headlamp("10.96.0.10", "443") + headlamp("gateway.example.com", "443");
    assert.deepEqual(hitsOf(lintText(text), "api-client-on-session-port"), []);
  });
});
