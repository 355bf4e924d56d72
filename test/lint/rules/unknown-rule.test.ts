import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hitsOf, lintText, markersIn } from "../helpers.ts";

describe("unknown-rule", () => {
  it("warns at the annotation naming a rule id that does not exist", () => {
    const text = `apiVersion: v1
kind: Pod
metadata:
  name: app
  annotations:
    lint.kube-oidc-gateway.io/disable: "probe-on-auth-endpoint,probe-on-auth" # expect: unknown-rule
    lint.kube-oidc-gateway.io/severity: "cookie-refresh=fatal" # expect: unknown-rule
spec:
  containers: [{name: app, image: example/app:1}]
`;
    const report = lintText(text);
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.equal(report.findings[0]?.severity, "warning");
    assert.match(report.findings[0]?.message ?? "", /"probe-on-auth", which is not a lint rule id/);
    assert.match(report.findings[1]?.message ?? "", /"cookie-refresh=fatal" is not rule-id=info\|warning\|error/);
  });

  it("accepts annotations on a workload's pod template", () => {
    const text = `apiVersion: apps/v1
kind: Deployment
metadata: {name: dash, namespace: dash}
spec:
  selector: {matchLabels: {app: dash}}
  template:
    metadata:
      labels: {app: dash}
      annotations: {lint.kube-oidc-gateway.io/disable: automount-off-no-api-volume}
    spec:
      automountServiceAccountToken: false
      containers: [{name: headlamp, image: ghcr.io/headlamp-k8s/headlamp:v0.39.0}]
`;
    assert.deepEqual(hitsOf(lintText(text)), []);
    assert.deepEqual(hitsOf(lintText(text.replace("      annotations:", "      labelz:"))), [
      "automount-off-no-api-volume@11",
    ]);
  });

  it("applies an object's annotations to unknown-rule itself, and reports yaml-syntax in them as having no effect", () => {
    const text = `apiVersion: v1
kind: Pod
metadata:
  name: app
  annotations:
    lint.kube-oidc-gateway.io/disable: "unknown-rule,probe-on-auth"
spec:
  containers: [{name: app, image: example/app:1}]
---
apiVersion: v1
kind: Pod
metadata:
  name: graded
  annotations:
    lint.kube-oidc-gateway.io/disable: "probe-on-auth"
    lint.kube-oidc-gateway.io/severity: "unknown-rule=info"
spec:
  containers: [{name: app, image: example/app:1}]
---
apiVersion: v1
kind: Pod
metadata:
  name: syntax
  annotations:
    lint.kube-oidc-gateway.io/disable: "yaml-syntax" # expect: unknown-rule
spec:
  containers: [{name: app, image: example/app:1}]
`;
    const report = lintText(text);
    assert.deepEqual(hitsOf(report), ["unknown-rule@15", ...markersIn(text)]);
    assert.equal(report.findings[0]?.severity, "info", "re-graded by the object's own annotation");
    assert.equal(report.findings[1]?.severity, "warning");
    assert.match(report.findings[1]?.message ?? "", /names yaml-syntax, which it cannot apply: .*; it has no effect/);
  });
});
