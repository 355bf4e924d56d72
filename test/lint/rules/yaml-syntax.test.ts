import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { repoRoot } from "../../../testbed/paths.ts";
import { hitsOf, lintText } from "../helpers.ts";

describe("yaml-syntax", () => {
  it("reports a document that does not parse at its line and still checks the others", () => {
    const text = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: a, namespace: a}
spec:
  endpointSelector: {}
  egress:
    - toServices:
        - k8sService: {serviceName: kubernetes, namespace: default}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: broken
data: [unclosed
---
apiVersion: v1
kind: ConfigMap
metadata: {name: dup, name: again}
`;
    const report = lintText(text);
    assert.deepEqual(hitsOf(report), ["cnp-toservices-apiserver@8", "yaml-syntax@15", "yaml-syntax@18"]);
    const syntax = report.findings.filter((f) => f.ruleId === "yaml-syntax");
    assert.equal(syntax[0]?.object, undefined);
    assert.equal(syntax[0]?.severity, "error");
    // The yaml package ends its first line with ':' before a code excerpt lint does not keep.
    assert.equal(syntax[1]?.message, "Map keys must be unique at line 18, column 23");
  });

  it("reports a text file that is not YAML once per document, as kubectl does", () => {
    // This repository's README: 105 parse errors in its one document, 105 findings before.
    const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
    assert.deepEqual(hitsOf(lintText(readme), "yaml-syntax").length, 1);
    // A Helm template read as YAML (a chart's templates/ folder): 28 errors, one finding.
    const template = readFileSync(join(repoRoot, "charts", "kube-oidc-gateway", "templates", "service.yaml"), "utf8");
    assert.deepEqual(hitsOf(lintText(template), "yaml-syntax").length, 1);
  });

  it("never throws on odd but parseable YAML", () => {
    const odd = [
      "just a string",
      "- a list\n- at the top",
      "kind: Deployment\nspec: 5",
      "kind: Deployment\nspec: {template: {spec: {containers: 'nope', volumes: [null, 3]}}}",
      "kind: Pod\nspec: {containers: [null, {name: x, env: [null, {name: 3}], ports: 'x', volumeMounts: [{}], args: [{a: null}]}]}",
      "kind: Service\nspec: {selector: 'x', ports: [null, {port: 'http'}]}",
      "kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nspec: {podSelector: 3, ingress: 'x', egress: [null, {to: [1]}]}",
      "kind: CiliumNetworkPolicy\napiVersion: cilium.io/v2\nspecs: [null, {endpointSelector: {matchExpressions: [{}]}, egress: [{toEndpoints: [null]}]}]",
      "kind: Bundle\napiVersion: trust.cert-manager.io/v1alpha1\nspec: {sources: 'x'}",
      "kind: ClusterRoleBinding\nsubjects: [null, {kind: User}]",
      "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nkubeadmConfigPatches: [3, '{{bad', 'kind: ClusterConfiguration\\napiServer: {extraArgs: [null, {name: oidc-issuer-url}]}']",
      "kind: List\nitems: [null, {kind: Pod, spec: {}}]",
      "a: &x [*x]",
      "",
      "---\n---\n",
    ];
    for (const text of odd) assert.doesNotThrow(() => lintText(text), text);
  });

  it("never throws on an alias bomb or a large input", () => {
    // Billion laughs: nine levels of nine aliases each expand to 9^9 strings.
    const levels = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"];
    for (let i = 1; i < 9; i++) {
      const previous = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(", ")}]`);
    }
    const bomb = `${levels.join("\n")}\nkind: ConfigMap\n`;
    let report: ReturnType<typeof lintText> | undefined;
    assert.doesNotThrow(() => {
      report = lintText(bomb);
    });
    assert.deepEqual(hitsOf(report as ReturnType<typeof lintText>), ["yaml-syntax@1"]);
    const large = Array.from(
      { length: 3000 },
      (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c${i}}\ndata: {k: "${"x".repeat(200)}"}`,
    ).join("\n---\n");
    assert.doesNotThrow(() => lintText(large));
    assert.equal(lintText(large).objects, 3000);
  });
});
