// Nested impersonation through the gateway (kubectl --as), judged against the API server's own
// impersonation checks for the same user.
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { originalUserExtra, requestedImpersonation } from "../../src/proxy/nested-impersonation.ts";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import {
  bedOidcFlags,
  gatewayReady,
  gatewayTokenSubject,
  grantGatewayReviews,
  prepareGatewayCredentials,
  type RunningGateway,
  startTestGateway,
} from "../../testbed/gateway.ts";
import { httpsRequest } from "../../testbed/http.ts";
import { configMapReaderRbac } from "../../testbed/rbac.ts";
import { whoami } from "../helpers/kubectl-identity.ts";

const rbac = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: impersonate-viewer-bot}
rules:
- apiGroups: [""]
  resources: [users]
  resourceNames: [viewer-bot]
  verbs: [impersonate]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: developers-impersonate-viewer-bot}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: impersonate-viewer-bot}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "oidc:developers"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: constrained-impersonate-bot}
rules:
- apiGroups: [authentication.k8s.io]
  resources: [users]
  resourceNames: [constrained-bot]
  verbs: ["impersonate:user-info"]
- apiGroups: [""]
  resources: [configmaps]
  verbs: ["impersonate-on:user-info:list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: developers-constrained-impersonate-bot}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: constrained-impersonate-bot}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "oidc:developers"}
---
${configMapReaderRbac("viewer-bot-reads-configmaps", [
  { kind: "User", name: "viewer-bot" },
  { kind: "User", name: "constrained-bot" },
])}`;

describe("nested impersonation (--allow-nested-impersonation)", { timeout: 120_000 }, () => {
  let bed: TestBed;
  let gateway: RunningGateway;
  let jane: string;

  before(async () => {
    bed = await startTestBed();
    const credentials = await prepareGatewayCredentials(bed);
    await grantGatewayReviews(bed, ["subjectaccessreviews"]);
    const applied = await bed.kubectl(["apply", "-f", "-"], undefined, rbac);
    assert.equal(applied.code, 0, applied.stderr);
    const policy = join(bed.dir, "gateway-audit-policy.yaml");
    await writeFile(policy, "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n");
    gateway = await startTestGateway(credentials, [
      ...bedOidcFlags(bed),
      "--allow-nested-impersonation",
      `--audit-policy-file=${policy}`,
      `--audit-log-path=${join(bed.dir, "gateway-audit.log")}`,
    ]);
    await gatewayReady(gateway, 30_000);
    jane = (await bed.login("jane")).idToken;
  });
  after(async () => {
    await gateway?.gateway.stop();
    await bed?.stop();
  });

  it("lets a user bound to impersonate act as the target (kubectl --as)", async () => {
    const list = await bed.kubectl(["get", "configmaps", "--namespace=default", "--as=viewer-bot"], {
      token: jane,
      server: gateway.url,
    });
    assert.equal(list.code, 0, list.stderr);
    const result = await bed.kubectl(["auth", "whoami", "-o", "json", "--as=viewer-bot"], {
      token: jane,
      server: gateway.url,
    });
    assert.equal(result.code, 0, result.stderr);
    const user = JSON.parse(result.stdout).status.userInfo;
    assert.equal(user.username, "viewer-bot");
    assert.deepEqual(user.extra[originalUserExtra], ["jane@example.com"]);
  });

  it("refuses one who may not, with the API server's own 403 body", async () => {
    for (const [path, impersonate] of [
      ["/api/v1/namespaces/default/configmaps", { "impersonate-user": "admin" }],
      [
        "/api/v1/namespaces/default/configmaps/x",
        { "impersonate-user": "viewer-bot", "impersonate-group": "system:masters" },
      ],
      ["/api/v1/nodes", { "impersonate-user": "system:serviceaccount:default:builder" }],
      ["/version", { "impersonate-user": "system:node:worker-1" }],
      [
        "/apis/apps/v1/namespaces/default/deployments",
        { "impersonate-user": "viewer-bot", "impersonate-extra-example.org%2Fscope": "x" },
      ],
    ] as const) {
      const headers = { authorization: `Bearer ${jane}`, ...impersonate };
      const viaGateway = await httpsRequest(`${gateway.url}${path}`, { ca: bed.ca.certPem, headers });
      const direct = await httpsRequest(`${bed.apiServer?.url}${path}`, { ca: bed.ca.certPem, headers });
      assert.equal(viaGateway.status, 403, `${path} ${JSON.stringify(impersonate)}`);
      assert.equal(viaGateway.body, direct.body, `${path} ${JSON.stringify(impersonate)}`);
    }
    const kubectl = await bed.kubectl(["get", "configmaps", "--as=admin"], { token: jane, server: gateway.url });
    assert.match(
      kubectl.stderr,
      /Error from server \(Forbidden\): users\.authentication\.k8s\.io "admin" is forbidden: User "jane@example\.com" cannot impersonate:user-info resource "users"/,
    );
  });

  it("allows constrained impersonation (impersonate:user-info + impersonate-on) as the API server does", async () => {
    const headers = { authorization: `Bearer ${jane}`, "impersonate-user": "constrained-bot" };
    for (const path of ["/api/v1/namespaces/default/configmaps", "/api/v1/namespaces/default/secrets"]) {
      const viaGateway = await httpsRequest(`${gateway.url}${path}`, { ca: bed.ca.certPem, headers });
      const direct = await httpsRequest(`${bed.apiServer?.url}${path}`, { ca: bed.ca.certPem, headers });
      assert.equal(viaGateway.status, direct.status, path);
      assert.equal(
        viaGateway.body.replace(/"resourceVersion":"\d+"/, ""),
        direct.body.replace(/"resourceVersion":"\d+"/, ""),
        path,
      );
    }
  });

  it("refuses groups asked for without a user, as the API server does", async () => {
    const headers = { authorization: `Bearer ${jane}`, "impersonate-group": "oidc:developers" };
    const viaGateway = await httpsRequest(`${gateway.url}/api`, { ca: bed.ca.certPem, headers });
    const direct = await httpsRequest(`${bed.apiServer?.url}/api`, { ca: bed.ca.certPem, headers });
    assert.equal(viaGateway.status, direct.status);
    assert.equal(JSON.parse(viaGateway.body).reason, JSON.parse(direct.body).reason);
  });

  it("records the original and the target user in the API server's audit log", async () => {
    const marker = `nested-${Date.now()}`;
    await httpsRequest(`${gateway.url}/api/v1/namespaces/default/configmaps?labelSelector=${marker}`, {
      ca: bed.ca.certPem,
      headers: { authorization: `Bearer ${jane}`, "impersonate-user": "viewer-bot" },
    });
    const [event] = ((await bed.apiServer?.auditEvents()) ?? []).filter((e) => e.requestURI.includes(marker));
    assert.equal(event?.user.username, gatewayTokenSubject);
    assert.equal(event?.impersonatedUser?.username, "viewer-bot");
    assert.deepEqual(event?.impersonatedUser?.extra?.[originalUserExtra], ["jane@example.com"]);
  });

  it("audits as kube-apiserver: who asked, as whom, and what was refused", async () => {
    const allowed = `nested-allowed-${Date.now()}`;
    await httpsRequest(`${gateway.url}/api/v1/namespaces/default/configmaps?labelSelector=${allowed}`, {
      ca: bed.ca.certPem,
      headers: { authorization: `Bearer ${jane}`, "impersonate-user": "viewer-bot" },
    });
    const refusedUri = `/api/v1/namespaces/default/secrets?labelSelector=nested-refused-${Date.now()}`;
    await httpsRequest(`${gateway.url}${refusedUri}`, {
      ca: bed.ca.certPem,
      headers: { authorization: `Bearer ${jane}`, "impersonate-user": "admin" },
    });
    const unauthenticatedUri = `/api/v1/namespaces?labelSelector=nested-bogus-${Date.now()}`;
    await httpsRequest(`${gateway.url}${unauthenticatedUri}`, {
      ca: bed.ca.certPem,
      headers: { authorization: "Bearer expired.or.bogus" },
    });
    const text = await readFile(join(bed.dir, "gateway-audit.log"), "utf8");
    const events = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.ok(events.every((e) => e.kind === "Event" && e.apiVersion === "audit.k8s.io/v1" && e.level === "Metadata"));

    // Impersonation allowed: impersonatedUser from the stage after RequestReceived, as kube-apiserver logs it.
    const done = events.find((e) => e.requestURI.includes(allowed) && e.stage === "ResponseComplete");
    assert.equal(done?.user.username, "jane@example.com");
    assert.equal(done?.impersonatedUser?.username, "viewer-bot");
    assert.equal(done?.responseStatus.code, 200);
    const received = events.find((e) => e.requestURI.includes(allowed) && e.stage === "RequestReceived");
    assert.equal(received?.impersonatedUser, undefined);
    assert.equal(received?.auditID, done?.auditID);

    // Refused after authentication: the user who asked, the refusal's Status.
    const refused = events.filter((e) => e.requestURI === refusedUri);
    assert.deepEqual(
      refused.map((e) => e.stage),
      ["RequestReceived", "ResponseComplete"],
    );
    const last = refused[1];
    assert.equal(last.user.username, "jane@example.com");
    assert.deepEqual(last.user.groups, ["oidc:developers", "oidc:viewers", "system:authenticated"]);
    assert.equal(last.verb, "list");
    assert.deepEqual(last.objectRef, { resource: "secrets", namespace: "default", apiVersion: "v1" });
    assert.equal(last.responseStatus.code, 403);
    assert.equal(last.responseStatus.reason, "Forbidden");
    assert.deepEqual(last.sourceIPs, ["127.0.0.1"]);

    // Authentication failed: one event, at ResponseStarted, without a user (filters/authn_audit.go).
    const unauthenticated = events.filter((e) => e.requestURI === unauthenticatedUri);
    assert.deepEqual(
      unauthenticated.map((e) => [e.stage, e.responseStatus.code, e.user]),
      [["ResponseStarted", 401, {}]],
    );
    assert.doesNotMatch(text, new RegExp(jane.slice(-20)), "a token reached the audit log");
  });

  it("still answers whoami for the caller without impersonation", async () => {
    const { userInfo } = await whoami(bed, jane, gateway.url);
    assert.equal(userInfo?.username, "jane@example.com");
  });
});

describe("requested impersonation headers", () => {
  it("reads user, uid, each group line and percent-encoded extra keys", () => {
    assert.deepEqual(
      requestedImpersonation([
        "Impersonate-User",
        "viewer-bot",
        "Impersonate-Group",
        "a,b",
        "impersonate-group",
        "c",
        "Impersonate-Uid",
        "42",
        "Impersonate-Extra-example.org%2Fscopes",
        "x",
        "Impersonate-Extra-example.org%2Fscopes",
        "y",
        "Impersonate-Extra-bad%zz",
        "z",
      ]),
      {
        user: "viewer-bot",
        uid: "42",
        groups: ["a,b", "c"],
        extra: new Map([
          ["example.org/scopes", ["x", "y"]],
          ["bad%zz", ["z"]],
        ]),
      },
    );
  });

  it("refuses groups, extras or a uid without a user, and ignores unknown Impersonate-* headers", () => {
    assert.throws(() => requestedImpersonation(["Impersonate-Group", "g"]), { httpStatus: 400, reason: "BadRequest" });
    assert.deepEqual(requestedImpersonation(["Impersonate-User", "u", "Impersonate-Everything", "x"]), {
      user: "u",
      uid: undefined,
      groups: [],
      extra: new Map(),
    });
  });

  it("is undefined when no Impersonate-* header came", () => {
    assert.equal(requestedImpersonation(["Accept", "*/*"]), undefined);
  });
});
