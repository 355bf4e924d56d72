import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hitsOf, lintText, markersIn } from "../helpers.ts";

const pod = (container: string, annotations = "{}") => `apiVersion: v1
kind: Pod
metadata: {name: auth, namespace: auth, annotations: ${annotations}}
spec:
  containers:
${container}`;

describe("probe-on-auth-endpoint", () => {
  it("flags an httpGet on kube-oidc-gateway's default secure port and passes its health port", () => {
    const text = pod(`    - name: gateway
      image: ghcr.io/example/kube-oidc-gateway:0.1.0
      args: [serve, --oidc-issuer-url=https://issuer.example.com, --oidc-client-id=k8s]
      readinessProbe:
        httpGet: {path: /readyz, port: 8080}
      livenessProbe:
        httpGet:
          path: /livez
          port: 443 # expect: probe-on-auth-endpoint
          scheme: HTTPS
`);
    const report = lintText(text);
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.match(report.findings[0]?.message ?? "", /livenessProbe of container gateway GETs https:\/\/:443\/livez/);
    assert.match(report.findings[0]?.fix ?? "", /health port 8080/);
  });

  it("passes a tcpSocket probe on the authenticating port", () => {
    const text = pod(`    - name: proxy
      image: quay.io/jetstack/kube-oidc-proxy:v0.3.0
      args: [--secure-port=8443]
      readinessProbe:
        tcpSocket: {port: 8443}
`);
    assert.deepEqual(hitsOf(lintText(text)), []);
  });

  it("passes oauth2-proxy's own /ping and /ready and flags any other path on its port", () => {
    const text = pod(`    - name: oauth2-proxy
      image: quay.io/oauth2-proxy/oauth2-proxy:v7.6.0
      args: [--http-address=0.0.0.0:4180, --cookie-refresh=2m]
      ports: [{name: proxy, containerPort: 4180}]
      livenessProbe:
        httpGet: {path: /ping, port: proxy}
      readinessProbe:
        httpGet: {path: /ready, port: proxy}
      startupProbe:
        httpGet: {path: /, port: proxy} # expect: probe-on-auth-endpoint
`);
    assert.deepEqual(hitsOf(lintText(text)), markersIn(text));
  });

  it("takes authenticating ports from the annotation for containers it cannot recognise", () => {
    const text = pod(
      `    - name: custom
      image: example/custom-auth:1
      ports: [{name: api, containerPort: 9443}]
      readinessProbe:
        httpGet: {path: /healthz, port: api} # expect: probe-on-auth-endpoint
`,
      '{lint.kube-oidc-gateway.io/authenticating-ports: "api"}',
    );
    assert.deepEqual(hitsOf(lintText(text)), markersIn(text));
  });

  it("leaves kube-apiserver's own probes alone (/livez and /readyz are public)", () => {
    const text = pod(`    - name: kube-apiserver
      image: registry.k8s.io/kube-apiserver:v1.31.2
      command: [kube-apiserver, --secure-port=6443, --oidc-issuer-url=https://issuer.example.com, "--oidc-username-prefix=oidc:"]
      livenessProbe:
        httpGet: {path: /livez, port: 6443, scheme: HTTPS}
`);
    assert.deepEqual(hitsOf(lintText(text)), []);
  });

  it("knows kube-oidc-proxy's --secure-port defaults to 6443, not 443", () => {
    const text = pod(`    - name: proxy
      image: quay.io/jetstack/kube-oidc-proxy:v0.3.0
      args: [--oidc-issuer-url=https://issuer.example.com, --oidc-client-id=k8s]
      readinessProbe:
        httpGet: {path: /ready, port: 8080}
      livenessProbe:
        httpGet: {path: /, port: 6443, scheme: HTTPS} # expect: probe-on-auth-endpoint
      startupProbe:
        httpGet: {path: /, port: 443, scheme: HTTPS}
`);
    const report = lintText(text);
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.match(report.findings[0]?.message ?? "", /kube-oidc-proxy \(--secure-port default 6443\)/);
  });

  it("honours kube-oidc-gateway's --readiness-probe-port, an alias of --health-port", () => {
    const text = pod(`    - name: gateway
      image: ghcr.io/example/kube-oidc-gateway:0.1.0
      args: [serve, --secure-port=8443, --readiness-probe-port=9090]
      readinessProbe:
        httpGet: {path: /readyz, port: 9090}
      livenessProbe:
        httpGet: {path: /livez, port: 8443, scheme: HTTPS} # expect: probe-on-auth-endpoint
`);
    const report = lintText(text);
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.match(report.findings[0]?.fix ?? "", /health port 9090 \(\/livez, \/readyz\)/);
  });
});
