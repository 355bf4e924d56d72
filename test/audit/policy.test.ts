// The audit policy by example: the kubernetes.io documentation's example policy evaluated for the
// requests its comments describe, each matching rule of k8s.io/apiserver@v0.37.2
// pkg/audit/policy/checker.go, and the refusals and warnings of reader.go and validation.go, with
// the file named. test/audit/policy-differential.test.ts holds the same code against the Go
// code on generated cases; these are the cases worth a name.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  createPolicyRuleEvaluator,
  loadPolicy,
  loadPolicyFile,
  policyRefusal,
  policyRuleEvaluatorFromFile,
} from "../../src/audit/policy.ts";
import type { PolicyAttributes, RequestAuditConfig } from "../../src/audit/types.ts";
import { ConfigError } from "../../src/config/errors.ts";

// https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/#audit-policy (audit-policy.yaml).
const docsExample = `
apiVersion: audit.k8s.io/v1 # This is required.
kind: Policy
# Don't generate audit events for all requests in RequestReceived stage.
omitStages:
  - "RequestReceived"
rules:
  # Log pod changes at RequestResponse level
  - level: RequestResponse
    resources:
    - group: ""
      # Resource "pods" doesn't match requests to any subresource of pods,
      # which is consistent with the RBAC policy.
      resources: ["pods"]
  # Log "pods/log", "pods/status" at Metadata level
  - level: Metadata
    resources:
    - group: ""
      resources: ["pods/log", "pods/status"]

  # Don't log requests to a configmap called "controller-leader"
  - level: None
    resources:
    - group: ""
      resources: ["configmaps"]
      resourceNames: ["controller-leader"]

  # Don't log watch requests by the "system:kube-proxy" on endpoints or services
  - level: None
    users: ["system:kube-proxy"]
    verbs: ["watch"]
    resources:
    - group: "" # core API group
      resources: ["endpoints", "services"]

  # Don't log authenticated requests to certain non-resource URL paths.
  - level: None
    userGroups: ["system:authenticated"]
    nonResourceURLs:
    - "/api*" # Wildcard matching.
    - "/version"

  # Log the request body of configmap changes in kube-system.
  - level: Request
    resources:
    - group: "" # core API group
      resources: ["configmaps"]
    # This rule only applies to resources in the "kube-system" namespace.
    # The empty string "" can be used to select non-namespaced resources.
    namespaces: ["kube-system"]

  # Log configmap and secret changes in all other namespaces at the Metadata level.
  - level: Metadata
    resources:
    - group: "" # core API group
      resources: ["secrets", "configmaps"]

  # Log all other resources in core and extensions at the Request level.
  - level: Request
    resources:
    - group: "" # core API group
    - group: "extensions" # Version of group should NOT be included.

  # A catch-all rule to log all other requests at the Metadata level.
  - level: Metadata
    # Long-running requests like watches that fall under this rule will not
    # generate an audit event in RequestReceived.
    omitStages:
      - "RequestReceived"
`;

const alice = { username: "alice", groups: ["dev", "system:authenticated"] };

const resource = (resourceName: string, more: Partial<PolicyAttributes> = {}): PolicyAttributes => ({
  user: alice,
  verb: "get",
  resourceRequest: true,
  apiGroup: "",
  apiVersion: "v1",
  resource: resourceName,
  namespace: "default",
  ...more,
});

const nonResource = (path: string, more: Partial<PolicyAttributes> = {}): PolicyAttributes => ({
  user: alice,
  verb: "get",
  resourceRequest: false,
  path,
  ...more,
});

/** A policy of the given rules (YAML flow text), evaluated for one request. */
function evaluate(rules: string, attributes: PolicyAttributes, top = ""): RequestAuditConfig {
  const policy = loadPolicy(`apiVersion: audit.k8s.io/v1\nkind: Policy\n${top}rules: ${rules}\n`, "test");
  return createPolicyRuleEvaluator(policy).evaluatePolicyRule(attributes);
}

const level = (rules: string, attributes: PolicyAttributes) => evaluate(rules, attributes).level;

describe("audit policy: the kubernetes.io example policy", () => {
  const evaluator = createPolicyRuleEvaluator(loadPolicy(docsExample, "audit-policy.yaml"));
  const levelOf = (attributes: PolicyAttributes) => evaluator.evaluatePolicyRule(attributes).level;

  it("logs pods at RequestResponse, without the RequestReceived stage (the policy's omitStages)", () => {
    assert.deepEqual(evaluator.evaluatePolicyRule(resource("pods", { verb: "create" })), {
      level: "RequestResponse",
      omitStages: ["RequestReceived"],
      omitManagedFields: false,
    });
  });

  it("logs pods/log and pods/status at Metadata, and other pod subresources by the core-group rule", () => {
    assert.equal(levelOf(resource("pods", { subresource: "log" })), "Metadata");
    assert.equal(levelOf(resource("pods", { subresource: "status" })), "Metadata");
    assert.equal(levelOf(resource("pods", { subresource: "exec", verb: "create" })), "Request");
  });

  it("skips the configmap named controller-leader only; configmaps in kube-system at Request, elsewhere Metadata", () => {
    assert.equal(levelOf(resource("configmaps", { name: "controller-leader", verb: "update" })), "None");
    assert.equal(levelOf(resource("configmaps", { namespace: "kube-system", name: "other" })), "Request");
    assert.equal(levelOf(resource("configmaps", { name: "other" })), "Metadata");
  });

  it("skips kube-proxy's watches of endpoints and services, not its gets", () => {
    const kubeProxy = { username: "system:kube-proxy", groups: ["system:authenticated"] };
    assert.equal(levelOf(resource("endpoints", { user: kubeProxy, verb: "watch" })), "None");
    assert.equal(levelOf(resource("services", { user: kubeProxy, verb: "watch" })), "None");
    assert.equal(levelOf(resource("endpoints", { user: kubeProxy, verb: "get" })), "Request");
  });

  it("skips authenticated requests to /api* and /version; others reach the catch-all Metadata rule", () => {
    assert.equal(levelOf(nonResource("/api")), "None");
    assert.equal(levelOf(nonResource("/apis/apps/v1")), "None");
    assert.equal(levelOf(nonResource("/version")), "None");
    assert.equal(levelOf(nonResource("/healthz")), "Metadata");
    const anonymous = { username: "system:anonymous", groups: ["system:unauthenticated"] };
    assert.equal(levelOf(nonResource("/version", { user: anonymous })), "Metadata");
  });

  it("logs the extensions group at Request and the apps group by the catch-all Metadata rule", () => {
    assert.equal(levelOf(resource("ingresses", { apiGroup: "extensions" })), "Request");
    assert.equal(levelOf(resource("deployments", { apiGroup: "apps" })), "Metadata");
  });
});

describe("audit policy: rule matching (checker.go ruleMatches)", () => {
  it("matches users by name and userGroups by any one group; neither matches a request without a user", () => {
    assert.equal(level(`[{level: Request, users: [alice]}]`, resource("pods")), "Request");
    assert.equal(level(`[{level: Request, users: [bob]}]`, resource("pods")), "None");
    assert.equal(level(`[{level: Request, userGroups: [ops, dev]}]`, resource("pods")), "Request");
    const { user: _, ...anonymous } = resource("pods");
    assert.equal(level(`[{level: Request, users: [alice]}]`, anonymous), "None");
    assert.equal(level(`[{level: Request, userGroups: [system:unauthenticated]}]`, anonymous), "None");
    assert.equal(level(`[{level: Request}]`, anonymous), "Request");
  });

  it("compares verbs as they are: '*' is no wildcard", () => {
    assert.equal(level(`[{level: Request, verbs: ["*"]}]`, resource("pods")), "None");
    assert.equal(level(`[{level: Request, verbs: [list, get]}]`, resource("pods")), "Request");
  });

  it("matches a group's resources: '' is the core group, '*' any group and any resource", () => {
    assert.equal(level(`[{level: Request, resources: [{group: ""}]}]`, resource("pods")), "Request");
    assert.equal(
      level(`[{level: Request, resources: [{group: ""}]}]`, resource("jobs", { apiGroup: "batch" })),
      "None",
    );
    assert.equal(
      level(`[{level: Request, resources: [{group: "*", resources: ["*"]}]}]`, resource("jobs", { apiGroup: "batch" })),
      "Request",
    );
    assert.equal(level(`[{level: Request, resources: [{group: apps, resources: [pods]}]}]`, resource("pods")), "None");
  });

  it("matches subresources as resource/subresource, */subresource and resource/*; a bare resource is no parent of them", () => {
    const scale = resource("deployments", { apiGroup: "apps", subresource: "scale" });
    assert.equal(level(`[{level: Request, resources: [{group: apps, resources: ["*/scale"]}]}]`, scale), "Request");
    assert.equal(
      level(`[{level: Request, resources: [{group: apps, resources: ["deployments/*"]}]}]`, scale),
      "Request",
    );
    assert.equal(
      level(`[{level: Request, resources: [{group: apps, resources: ["deployments/scale"]}]}]`, scale),
      "Request",
    );
    assert.equal(level(`[{level: Request, resources: [{group: apps, resources: [deployments]}]}]`, scale), "None");
    // "pods/*" also covers pods itself (resource == TrimSuffix(res, "/*")), "*/log" needs a subresource.
    assert.equal(
      level(`[{level: Request, resources: [{group: "", resources: ["pods/*"]}]}]`, resource("pods")),
      "Request",
    );
    assert.equal(level(`[{level: Request, resources: [{group: "", resources: ["*/log"]}]}]`, resource("pods")), "None");
  });

  it("restricts by resourceNames, and by namespaces where '' is a cluster-scoped resource", () => {
    const rules = `[{level: Request, resources: [{group: "", resources: [secrets], resourceNames: [token]}]}]`;
    assert.equal(level(rules, resource("secrets", { name: "token" })), "Request");
    assert.equal(level(rules, resource("secrets", { name: "other" })), "None");
    assert.equal(level(rules, resource("secrets")), "None");
    assert.equal(level(`[{level: Request, namespaces: [""]}]`, resource("nodes", { namespace: "" })), "Request");
    assert.equal(level(`[{level: Request, namespaces: [""]}]`, resource("pods")), "None");
  });

  it("keeps resource rules and non-resource rules apart", () => {
    assert.equal(level(`[{level: Request, namespaces: [default]}]`, nonResource("/api")), "None");
    assert.equal(level(`[{level: Request, nonResourceURLs: ["*"]}]`, resource("pods")), "None");
    assert.equal(level(`[{level: Request, nonResourceURLs: ["*"]}]`, nonResource("/anything")), "Request");
  });

  it("matches non-resource URLs exactly or by a trailing '*' prefix", () => {
    const rules = `[{level: Request, nonResourceURLs: ["/healthz", "/apis/*"]}]`;
    assert.equal(level(rules, nonResource("/healthz")), "Request");
    assert.equal(level(rules, nonResource("/healthz/etcd")), "None");
    assert.equal(level(rules, nonResource("/apis/apps")), "Request");
    assert.equal(level(rules, nonResource("/apis")), "None");
  });

  it("takes the first matching rule", () => {
    assert.equal(level(`[{level: None, users: [alice]}, {level: RequestResponse}]`, resource("pods")), "None");
    assert.equal(level(`[{level: None, users: [bob]}, {level: RequestResponse}]`, resource("pods")), "RequestResponse");
  });
});

describe("audit policy: omitStages and omitManagedFields", () => {
  it("unions the policy's omitStages with the matching rule's; without a match, the policy's own", () => {
    const top = "omitStages: [RequestReceived]\n";
    const rules = `[{level: Metadata, users: [alice], omitStages: [ResponseStarted, RequestReceived]}]`;
    assert.deepEqual(evaluate(rules, resource("pods"), top).omitStages, ["RequestReceived", "ResponseStarted"]);
    assert.deepEqual(evaluate(rules, resource("pods", { user: { username: "bob", groups: [] } }), top), {
      level: "None",
      omitStages: ["RequestReceived"],
      omitManagedFields: false,
    });
  });

  it("lets a rule's omitManagedFields override the policy's, either way", () => {
    const top = "omitManagedFields: true\n";
    assert.equal(evaluate(`[{level: Request}]`, resource("pods"), top).omitManagedFields, true);
    assert.equal(
      evaluate(`[{level: Request, omitManagedFields: false}]`, resource("pods"), top).omitManagedFields,
      false,
    );
    assert.equal(evaluate(`[{level: Request, omitManagedFields: true}]`, resource("pods")).omitManagedFields, true);
    assert.equal(evaluate(`[{level: Request, users: [bob]}]`, resource("pods"), top).omitManagedFields, true);
  });
});

describe("audit policy: loading (reader.go, validation.go)", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "audit-policy-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** The ConfigError loading `text` raises, with its code checked. */
  function refusal(text: string | Uint8Array): string {
    let caught: unknown;
    try {
      loadPolicy(text, "/etc/kubernetes/audit-policy.yaml");
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
    assert.equal(caught.code, "AUDIT_POLICY");
    assert.match(
      caught.message,
      /^loading audit policy file: .*: from file \/etc\/kubernetes\/audit-policy\.yaml \(--audit-policy-file takes an audit\.k8s\.io\/v1 Policy/s,
    );
    return caught.message;
  }

  const head = "apiVersion: audit.k8s.io/v1\nkind: Policy\n";

  it("refuses a rule without a level, and an unknown level with the supported ones listed", () => {
    assert.match(refusal(`${head}rules:\n- users: [alice]\n`), /rules\[0\]\.level: Required value/);
    assert.match(
      refusal(`${head}rules:\n- level: Everything\n`),
      /rules\[0\]\.level: Unsupported value: "Everything": supported values: "None", "Metadata", "Request", "RequestResponse"/,
    );
  });

  it("refuses a policy without rules, after validation", () => {
    assert.match(refusal(`${head}rules: []\n`), /loaded illegal policy with 0 rules/);
    assert.match(refusal(`${head}`), /loaded illegal policy with 0 rules/);
    assert.match(
      refusal(`${head}omitStages: [Later]\n`),
      /omitStages\[0\]: Invalid value: "Later": allowed stages are/,
    );
  });

  it("refuses rules for both resources and non-resource URLs, misplaced wildcards, and names without resources", () => {
    const message = refusal(
      `${head}rules:\n- level: None\n  namespaces: [default]\n  nonResourceURLs: [healthz, "/a*b"]\n  resources: [{group: Apps, resourceNames: [x]}]\n`,
    );
    // All of validation.go's complaints at once, in its order, in brackets.
    assert.ok(
      message.includes(
        `[rules[0].nonResourceURLs[0]: Invalid value: "healthz": non-resource URL rules must begin with a '/' character, `,
      ),
    );
    assert.ok(
      message.includes(
        `rules[0].nonResourceURLs[1]: Invalid value: "/a*b": non-resource URL wildcards '*' must be the final character of the rule`,
      ),
    );
    assert.ok(message.includes(`rules[0].resources.group: Invalid value: "Apps": a lowercase RFC 1123 subdomain`));
    assert.ok(
      message.includes(
        `rules[0].resources.resourceNames: Invalid value: ["x"]: using resourceNames requires at least one resource`,
      ),
    );
    assert.ok(
      message.includes(
        `rules[0].nonResourceURLs: Invalid value: ["healthz","/a*b"]: rules cannot apply to both regular resources and non-resource URLs]`,
      ),
    );
  });

  it("refuses a missing or other apiVersion; a missing kind is taken as Policy", () => {
    assert.match(
      refusal("kind: Policy\nrules:\n- level: None\n"),
      /unknown group version field audit\.k8s\.io\/__internal, Kind=Policy in policy/,
    );
    assert.match(
      refusal("apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules:\n- level: None\n"),
      /no kind "Policy" is registered for version "audit\.k8s\.io\/v1beta1"/,
    );
    assert.equal(loadPolicy("apiVersion: audit.k8s.io/v1\nrules:\n- level: None\n", "x").rules.length, 1);
  });

  it("refuses values of the wrong type, YAML 1.1 booleans included", () => {
    assert.match(
      refusal(`${head}rules:\n- level: 5\n`),
      /json: cannot unmarshal number into Go struct field PolicyRule\.rules\.level of type v1\.Level/,
    );
    assert.match(
      refusal(`${head}rules:\n- level: None\n  users: yes\n`),
      /cannot unmarshal bool into Go struct field PolicyRule\.rules\.users of type \[\]string/,
    );
    assert.match(
      refusal(`${head}rules:\n- level: None\n  users: [on]\n`),
      /cannot unmarshal bool into Go struct field PolicyRule\.rules\.users of type string/,
    );
    assert.deepEqual(loadPolicy(`${head}rules:\n- level: None\n  users: ["on", 2001-01-01]\n`, "x").rules[0]?.users, [
      "on",
      "2001-01-01",
    ]);
  });

  it("loads a policy with unknown or duplicate fields leniently, with reader.go's warning", () => {
    const warnings: string[] = [];
    const policy = loadPolicy(
      `${head}rules:\n- level: None\n  Level: Request\n  verbs: [get]\n  verbs: [list]\n`,
      "x",
      {
        onWarning: (w) => warnings.push(w),
      },
    );
    // Field names are case-sensitive ("Level" is unknown); of a repeated key, the last wins.
    assert.deepEqual(policy.rules, [{ level: "None", verbs: ["list"] }]);
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0] ?? "",
      /^Audit policy contains errors, falling back to lenient decoding: strict decoding error: /,
    );
    const quiet: string[] = [];
    loadPolicy(docsExample, "x", { onWarning: (w) => quiet.push(w) });
    assert.deepEqual(quiet, []);
  });

  it("reads YAML as go-yaml v2 does: 1.1 only, merge keys (a key set and merged in is set twice), no \\/ escape", () => {
    // Outcomes checked against the audit oracle (k8s.io/apiserver@v0.37.2 policy.LoadPolicyFromBytes).
    assert.match(refusal(`%YAML 1.2\n---\n${head}rules:\n- level: None\n`), /found incompatible YAML document/);
    assert.equal(loadPolicy(`%YAML 1.1\n---\n${head}rules:\n- level: None\n`, "x").rules.length, 1);
    const warnings: string[] = [];
    const merged = loadPolicy(`${head}rules:\n- <<: {level: Request, users: [a]}\n  users: [b]\n`, "x", {
      onWarning: (w) => warnings.push(w),
    });
    assert.deepEqual(merged.rules, [{ level: "Request", users: ["b"] }]);
    assert.equal(warnings.length, 1);
    const quiet: string[] = [];
    loadPolicy(`${head}rules:\n- &b {level: Metadata}\n- <<: *b\n  verbs: [get]\n`, "x", {
      onWarning: (w) => quiet.push(w),
    });
    assert.deepEqual(quiet, [], "merging in keys the mapping does not set is no duplicate");
    assert.match(refusal(`${head}rules:\n- level: None\n  users: ["a\\/b"]\n`), /found unknown escape character/);
    assert.match(refusal(`${head}rules:\n- level: None\n  users: [!!float 1]\n`), /cannot unmarshal number/);
    assert.deepEqual(loadPolicy(`${head}rules:\n- level: None\n  users: [!!str 5, 1:30]\n`, "x").rules[0]?.users, [
      "5",
      "1:30",
    ]);
  });

  it("decodes a JSON policy's repeated list into the elements already there, as encoding/json does", () => {
    const policy = loadPolicy(
      `{"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"None","users":["alice"]}],"rules":[{"level":"Metadata"}]}`,
      "x",
    );
    assert.deepEqual(policy.rules, [{ level: "Metadata", users: ["alice"] }]);
  });

  it("reads JSON only when the text starts with '{': a byte order mark makes it YAML, which reads it all the same", () => {
    const json = `{"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Metadata"}]}`;
    assert.equal(policyRefusal(`\ufeff${json}`), undefined);
    assert.equal(policyRefusal(` \n${json}`), undefined);
    assert.match(policyRefusal(`${json} trailing`) ?? "", /invalid character 't' after top-level value/);
    assert.match(
      policyRefusal(`{apiVersion: audit.k8s.io/v1}`) ?? "",
      /invalid character 'a' looking for beginning of object key string/,
    );
  });

  it("reads a file's bytes as go-yaml does: UTF-16 with a byte order mark, no invalid UTF-8 (but in a JSON string)", () => {
    // Outcomes checked against k8s.io/apiserver@v0.37.2 policy.LoadPolicyFromFile on the same bytes.
    const yaml = `${head}rules:\n- level: Metadata\n  users: ["é"]\n`;
    const utf16le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(yaml, "utf16le")]);
    assert.deepEqual(loadPolicy(utf16le, "x").rules, [{ level: "Metadata", users: ["é"] }]);
    const utf16be = Buffer.from(utf16le);
    utf16be.swap16();
    assert.deepEqual(loadPolicy(utf16be, "x").rules, [{ level: "Metadata", users: ["é"] }]);
    assert.match(refusal(Buffer.concat([Buffer.from(yaml), Buffer.from([0x23, 0x20, 0xff, 0x0a])])), /invalid UTF-8/);
    const json = Buffer.concat([
      Buffer.from(`{"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Metadata","users":["é`),
      Buffer.from([0xff]),
      Buffer.from(`"]}]}`),
    ]);
    assert.deepEqual(loadPolicy(json, "x").rules, [{ level: "Metadata", users: ["é\ufffd"] }]);
  });

  it("reads the policy file, and names a file it cannot read", async () => {
    const path = join(dir, "policy.yaml");
    await writeFile(path, docsExample);
    assert.equal(loadPolicyFile(path).rules.length, 9);
    assert.equal(policyRuleEvaluatorFromFile(path)?.evaluatePolicyRule(resource("pods")).level, "RequestResponse");
    const missing = join(dir, "missing.yaml");
    assert.throws(
      () => loadPolicyFile(missing),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.code, "AUDIT_POLICY");
        assert.ok(error.message.includes(`failed to read file path "${missing}"`), error.message);
        return true;
      },
    );
  });

  it("has no evaluator without a policy file, so nothing is audited (pkg/server/options/audit.go)", () => {
    assert.equal(policyRuleEvaluatorFromFile(""), undefined);
  });
});
