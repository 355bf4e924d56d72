// Hardening round 2 (issue 15), nested impersonation: what the gateway decides about a client's
// Impersonate-* headers, held against kube-apiserver's own impersonation filter for the same user
// and the same RBAC (findings 5, 6, 7 and the SubjectAccessReview half of 11).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  maxImpersonatedItems,
  originalGroupsExtra,
  originalUserExtra,
  ReviewCache,
} from "../../src/proxy/nested-impersonation.ts";
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
import { clients } from "../../testbed/issuer/oidc-provider.ts";
import { clientExchange, type RawResponse } from "../hardening/raw-client.ts";

const noGroupsUser = "nogroups@example.com";

// jane (oidc:developers) and a user without groups may: impersonate viewer-bot and any extra the
// legacy way; impersonate any user name the constrained user-info way, for listing configmaps.
const rbac = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: hardening-impersonate}
rules:
- apiGroups: [""]
  resources: [users]
  resourceNames: [viewer-bot]
  verbs: [impersonate]
# RBAC has no wildcard for subresources of one resource ("userextras/*" is no such thing):
# each extra key is named.
- apiGroups: [authentication.k8s.io]
  resources:
  - userextras/__proto__
  - userextras/constructor
  - userextras/authentication.kube-oidc-gateway.io/original-groups
  - userextras/authentication.kube-oidc-gateway.io/original-Groups
  - userextras/authentication.kube-oidc-gateway.io/original-username
  verbs: [impersonate]
- apiGroups: [authentication.k8s.io]
  resources: [users]
  verbs: ["impersonate:user-info"]
- apiGroups: [""]
  resources: [configmaps]
  verbs: ["impersonate-on:user-info:list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: hardening-impersonate}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: hardening-impersonate}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "oidc:developers"}
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: "${noGroupsUser}"}
`;

/** Whether a response is the impersonation check's refusal (a 403 naming the requestor), not what followed. */
function impersonationRefused(response: RawResponse, requestor: string): boolean {
  if (response.status !== 403) return false;
  try {
    return String(JSON.parse(response.body).message).includes(`User ${JSON.stringify(requestor)} cannot`);
  } catch {
    return false;
  }
}

const selfSubjectReview = JSON.stringify({
  apiVersion: "authentication.k8s.io/v1",
  kind: "SelfSubjectReview",
});

describe("nested impersonation hardening (issue 15)", { timeout: 180_000 }, () => {
  let bed: TestBed;
  let gateway: RunningGateway;
  let jane: string;
  let noGroups: string;

  const both = async (token: string, path: string, headers: Record<string, string | string[]>, method = "GET") => {
    const request = {
      method,
      path,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
      body: method === "POST" ? selfSubjectReview : undefined,
    };
    const [viaGateway, direct] = await Promise.all([
      clientExchange(gateway.url, bed.ca.certPem, request),
      clientExchange(bed.apiServer?.url ?? "", bed.ca.certPem, request),
    ]);
    return { viaGateway, direct };
  };

  before(async () => {
    bed = await startTestBed();
    const credentials = await prepareGatewayCredentials(bed);
    await grantGatewayReviews(bed, ["subjectaccessreviews"]);
    const applied = await bed.kubectl(["apply", "-f", "-"], undefined, rbac);
    assert.equal(applied.code, 0, applied.stderr);
    gateway = await startTestGateway(credentials, [...bedOidcFlags(bed), "--allow-nested-impersonation"]);
    await gatewayReady(gateway, 30_000);
    jane = (await bed.login("jane")).idToken;
    noGroups = bed.mint({
      alg: "RS256",
      kid: "rsa-1",
      claims: {
        iss: bed.issuer.url,
        aud: clients.kubernetes.id,
        sub: "nogroups-0001",
        email: noGroupsUser,
        email_verified: true,
        exp: Math.floor(Date.now() / 1000) + 600,
      },
    });
  });
  after(async () => {
    await gateway?.gateway.stop();
    await bed?.stop();
  });

  it("answers Impersonate-Extra-__proto__ and -constructor as kube-apiserver does (regression: 500)", async () => {
    for (const key of ["__proto__", "constructor"]) {
      const headers = { "impersonate-user": "viewer-bot", [`impersonate-extra-${key}`]: "x" };
      const { viaGateway, direct } = await both(
        jane,
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        headers,
        "POST",
      );
      assert.equal(viaGateway.status, direct.status, `${key}: ${viaGateway.body}`);
      assert.equal(direct.status, 201, direct.body);
      const extra = JSON.parse(viaGateway.body).status.userInfo.extra;
      assert.deepEqual(Object.getOwnPropertyDescriptor(extra, key)?.value, ["x"], key);
      assert.deepEqual(extra[originalUserExtra], ["jane@example.com"]);
    }
  });

  it("never passes a client's own values for the gateway's extra keys (regression: kept when the user has no groups)", async () => {
    for (const [token, who] of [
      [noGroups, noGroupsUser],
      [jane, "jane@example.com"],
    ] as const) {
      // %47 is "G": kube-apiserver unescapes after lower-casing, the gateway lower-cases the key
      // when it writes the headers, which would merge it into original-groups.
      for (const suffix of ["original-groups", "original-%47roups", "original-username"]) {
        const key = `authentication.kube-oidc-gateway.io%2F${suffix}`;
        const response = await clientExchange(gateway.url, bed.ca.certPem, {
          method: "POST",
          path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
          headers: {
            authorization: `Bearer ${token}`,
            "content-type": "application/json",
            "impersonate-user": "viewer-bot",
            [`impersonate-extra-${key}`]: "system:masters",
          },
          body: selfSubjectReview,
        });
        assert.equal(response.status, 201, response.body);
        const extra = JSON.parse(response.body).status.userInfo.extra ?? {};
        assert.deepEqual(extra[originalUserExtra], [who], `${who} ${suffix}`);
        assert.deepEqual(
          extra[originalGroupsExtra],
          who === noGroupsUser ? undefined : ["oidc:developers", "oidc:viewers"],
          `${who} ${suffix}: ${JSON.stringify(extra)}`,
        );
        assert.doesNotMatch(JSON.stringify(extra), /system:masters/, `${who} ${suffix}`);
      }
    }
  });

  it("classifies ServiceAccount user names as kube-apiserver's SplitUsername does (regression: regex shape only)", async () => {
    for (const user of [
      "system:serviceaccount:Bad:x",
      "system:serviceaccount:ns:Name",
      "system:serviceaccount:ns:a_b",
      "system:serviceaccount:-ns:x",
      `system:serviceaccount:${"n".repeat(64)}:x`,
      "system:serviceaccount:ns:a.b",
      "system:serviceaccount:ns:x",
      "system:serviceaccount:ns:x:y",
      `system:node:${"a".repeat(254)}`,
    ]) {
      const { viaGateway, direct } = await both(jane, "/api/v1/namespaces/default/configmaps", {
        "impersonate-user": user,
      });
      assert.equal(
        impersonationRefused(viaGateway, "jane@example.com"),
        impersonationRefused(direct, "jane@example.com"),
        `${user}: gateway ${viaGateway.status} ${viaGateway.body} direct ${direct.status} ${direct.body}`,
      );
    }
  });

  it(`refuses more than ${maxImpersonatedItems} groups and extra values with a 400 naming the limit`, async () => {
    const groups = Array.from({ length: maxImpersonatedItems + 1 }, (_, i) => `g${i}`);
    const response = await clientExchange(gateway.url, bed.ca.certPem, {
      path: "/api/v1/namespaces/default/configmaps",
      headers: { authorization: `Bearer ${jane}`, "impersonate-user": "viewer-bot", "impersonate-group": groups },
    });
    assert.equal(response.status, 400, response.body);
    const status = JSON.parse(response.body);
    assert.equal(status.reason, "BadRequest");
    assert.match(status.message, new RegExp(`at most ${maxImpersonatedItems}`));
    const atLimit = await clientExchange(gateway.url, bed.ca.certPem, {
      path: "/api/v1/namespaces/default/configmaps",
      headers: {
        authorization: `Bearer ${jane}`,
        "impersonate-user": "viewer-bot",
        "impersonate-group": groups.slice(1),
      },
    });
    assert.notEqual(atLimit.status, 400, atLimit.body);
  });

  it("asks the API server once for a request repeated within seconds", async () => {
    const reviews = async () =>
      ((await bed.apiServer?.auditEvents()) ?? []).filter(
        (e) =>
          e.requestURI === "/apis/authorization.k8s.io/v1/subjectaccessreviews" &&
          e.user.username === gatewayTokenSubject &&
          e.stage === "ResponseComplete",
      ).length;
    const path = `/api/v1/namespaces/default/configmaps?labelSelector=cache-${Date.now()}`;
    const headers = { authorization: `Bearer ${jane}`, "impersonate-user": "viewer-bot" };
    await clientExchange(gateway.url, bed.ca.certPem, { path, headers });
    const first = await reviews();
    for (let i = 0; i < 3; i++) await clientExchange(gateway.url, bed.ca.certPem, { path, headers });
    assert.equal(await reviews(), first);
  });
});

describe("ReviewCache", () => {
  it("keeps at most maxEntries answers, dropping the oldest, and forgets them after the TTL", async () => {
    let now = 0;
    const cache = new ReviewCache({ maxEntries: 3, ttlMs: 1000, now: () => now });
    let asked = 0;
    const ask = () => {
      asked++;
      return Promise.resolve({ allowed: true, reason: "" });
    };
    for (let i = 0; i < 100; i++) await cache.get(`k${i}`, ask);
    assert.equal(cache.size, 3);
    assert.equal(asked, 100);
    await cache.get("k99", ask);
    assert.equal(asked, 100, "a fresh answer is reused");
    await cache.get("k0", ask);
    assert.equal(asked, 101, "the oldest was dropped");
    now = 1000;
    await cache.get("k99", ask);
    assert.equal(asked, 102, "an expired answer is asked again");
    assert.ok(cache.size <= 3);
  });

  it("does not keep a failed review", async () => {
    const cache = new ReviewCache();
    await assert.rejects(cache.get("k", () => Promise.reject(new Error("down"))));
    await new Promise((r) => setImmediate(r));
    assert.equal(cache.size, 0);
  });
});
