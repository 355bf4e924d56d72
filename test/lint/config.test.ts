import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseLintConfig } from "../../src/lint/config.ts";
import { LintError } from "../../src/lint/errors.ts";
import { hitsOf, lintTextWithConfig } from "./helpers.ts";

const policy = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: a, namespace: a}
spec:
  endpointSelector: {}
  egress:
    - toServices:
        - k8sService: {serviceName: kubernetes, namespace: default}
`;

describe("lint configuration", () => {
  it("turns a rule off and re-grades another", () => {
    assert.deepEqual(hitsOf(lintTextWithConfig("rules:\n  cnp-toservices-apiserver: off\n", policy)), []);
    const regraded = lintTextWithConfig("rules: {cnp-toservices-apiserver: info}\n", policy);
    assert.deepEqual(
      regraded.findings.map((f) => f.severity),
      ["info"],
    );
  });

  it("reads tokenLifetime as a duration", () => {
    assert.equal(parseLintConfig("tokenLifetime: 90s\n", "c.yaml").tokenLifetimeMs, 90_000);
  });

  it("refuses unknown rule ids naming the known ones, unknown settings and bad severities", () => {
    assert.throws(
      () => parseLintConfig("rules: {cookie-refrsh: off}\n", "c.yaml"),
      (error: unknown) =>
        error instanceof LintError &&
        error.code === "LINT_UNKNOWN_RULE" &&
        /"cookie-refrsh"; known ids: netpol-service-port, .*cookie-refresh/.test(error.message),
    );
    assert.throws(() => parseLintConfig("ruels: {}\n", "c.yaml"), { code: "LINT_CONFIG_INVALID" });
    assert.throws(() => parseLintConfig("rules: {cookie-refresh: fatal}\n", "c.yaml"), { code: "LINT_CONFIG_INVALID" });
    assert.throws(() => parseLintConfig("tokenLifetime: soon\n", "c.yaml"), { code: "LINT_CONFIG_INVALID" });
  });
});
