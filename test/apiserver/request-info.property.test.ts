// Differential test of the request attributes nested impersonation authorizes (src/apiserver/request-info.ts)
// against kube-apiserver's own impersonation filter (hardening round 2, finding 4). The same user
// with the same constrained-impersonation RBAC (impersonate-on:user-info:<verb> on some resources,
// names, namespaces, subresources and non-resource paths) sends a generated request with
// Impersonate-User (a) straight to the test bed's kube-apiserver with its own token and (b) through
// the gateway: whether the impersonation is refused must agree for every case. The outcome hangs
// only on the verb, resource, subresource, namespace, name or path each side derives.
//
// Replay: KOG_PROPERTY_SEED=<seed printed at the top> node scripts/run-tests.ts test/apiserver/request-info.property.test.ts
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import {
  bedOidcFlags,
  gatewayReady,
  grantGatewayReviews,
  prepareGatewayCredentials,
  type RunningGateway,
  startTestGateway,
} from "../../testbed/gateway.ts";
import { clientExchange, type RawResponse } from "../hardening/raw-client.ts";
import { propertyParameters } from "../helpers/property-seed.ts";

const requestor = "jane@example.com";
const target = "prop-bot";
const onVerbs = (...verbs: string[]) => JSON.stringify(verbs.map((v) => `impersonate-on:user-info:${v}`));

// prop-bot itself may do nothing, so an allowed impersonation ends in the API server's ordinary
// 403 for prop-bot (or a 404, 405, ...), never in the 403 that names jane.
const rbac = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: request-info-differential}
rules:
- apiGroups: [authentication.k8s.io]
  resources: [users]
  resourceNames: [${target}]
  verbs: ["impersonate:user-info"]
- apiGroups: [""]
  resources: [configmaps]
  verbs: ${onVerbs("list", "watch")}
- apiGroups: [""]
  resources: [pods]
  resourceNames: [p1]
  verbs: ${onVerbs("get", "list", "watch", "delete")}
- apiGroups: [""]
  resources: [pods/log, namespaces/status]
  verbs: ${onVerbs("get")}
- apiGroups: [""]
  resources: [namespaces/finalize]
  verbs: ${onVerbs("update")}
- apiGroups: [""]
  resources: [nodes/proxy, nodes]
  resourceNames: [n1]
  verbs: ${onVerbs("proxy", "get")}
- apiGroups: [""]
  resources: [services]
  verbs: ${onVerbs("deletecollection", "create")}
- apiGroups: [apps]
  resources: [deployments]
  verbs: ${onVerbs("patch", "list")}
- nonResourceURLs: ["/version", "/apis/*", "/api"]
  verbs: ${onVerbs("get", "post")}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: request-info-differential}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: request-info-differential}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "oidc:developers"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: request-info-differential, namespace: default}
rules:
- apiGroups: [""]
  resources: [secrets]
  verbs: ${onVerbs("get", "list")}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: request-info-differential, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: request-info-differential}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "oidc:developers"}
`;

/** The impersonation check's refusal: a 403 whose message names the requestor, not the target. */
function impersonationRefused(response: RawResponse): boolean {
  if (response.status !== 403) return false;
  try {
    return String(JSON.parse(response.body).message).includes(`User ${JSON.stringify(requestor)} cannot`);
  } catch {
    return false;
  }
}

const segment = fc.constantFrom(
  "namespaces",
  "default",
  "kube-system",
  "def%61ult",
  "configmaps",
  "con%66igmaps",
  "pods",
  "p1",
  "p%31",
  "log",
  "secrets",
  "nodes",
  "n1",
  "services",
  "deployments",
  "status",
  "finalize",
  "watch",
  "proxy",
  "v1",
  "",
  ".",
  "..",
  "%2F",
  "a%2Fb",
  "%41",
  "%zz",
  "%2",
);
const prefix = fc.constantFrom(
  ["api", "v1"],
  ["apis", "apps", "v1"],
  ["api"],
  ["apis"],
  ["apis", "apps"],
  ["version"],
  [""],
  ["a%70i", "v1"],
);
const structured = fc
  .tuple(
    prefix,
    fc.option(fc.constantFrom("watch", "proxy"), { nil: undefined }),
    fc.option(fc.constantFrom("default", "kube-system", "def%61ult", "", "a%2Fb", ".."), { nil: undefined }),
    fc.array(segment, { maxLength: 4 }),
  )
  .map(([p, verb, namespace, rest]) => [
    ...p,
    ...(verb ? [verb] : []),
    ...(namespace !== undefined ? ["namespaces", namespace] : []),
    ...rest,
  ]);
const path = fc
  .tuple(
    fc.oneof({ weight: 4, arbitrary: structured }, { weight: 1, arbitrary: fc.array(segment, { maxLength: 6 }) }),
    fc.constantFrom("", "/"),
    fc.constantFrom("/", "//"),
  )
  .map(([segments, trailing, leading]) => `${leading}${segments.join("/")}${trailing}`);
const queryPair = fc.oneof(
  fc.constantFrom("true", "1", "yes", "t", "TRUE", "0", "false", "FALSE", "garbage", "").map((v) => `watch=${v}`),
  fc
    .constantFrom(
      "metadata.name%3Dp1",
      "metadata.name%3D%3Dp1",
      "metadata.name!%3Dp1",
      "metadata.name%3Dp%2531",
      "metadata.name%3D..",
      "metadata.name%3Dn1",
      "spec.x%3D1%2Cmetadata.name%3Dp1",
      "metadata.name%3Dp1%2Cmetadata.name%3Dp2",
      "metadata.name%3Dp%5C%2C1",
      "metadata.name",
      "",
    )
    .map((v) => `fieldSelector=${v}`),
  fc.constantFrom("a%3Db", "a%20b", "!!", "", "a%20in%20(x)").map((v) => `labelSelector=${v}`),
  fc.constantFrom("limit=5", "limit=x", "timeoutSeconds=1", "watch", "", ";", "fieldSelector=metadata.name%3Dp1;x"),
);
const request = fc.record({
  method: fc.constantFrom("GET", "GET", "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"),
  path,
  query: fc.option(fc.array(queryPair, { minLength: 1, maxLength: 4 }), { nil: undefined }),
});

describe("request attributes against kube-apiserver's impersonation filter", { timeout: 300_000 }, () => {
  let bed: TestBed;
  let gateway: RunningGateway;
  let jane: string;

  before(async () => {
    bed = await startTestBed();
    const credentials = await prepareGatewayCredentials(bed);
    await grantGatewayReviews(bed, ["subjectaccessreviews"]);
    const applied = await bed.kubectl(["apply", "-f", "-"], undefined, rbac);
    assert.equal(applied.code, 0, applied.stderr);
    gateway = await startTestGateway(credentials, [...bedOidcFlags(bed), "--allow-nested-impersonation"]);
    await gatewayReady(gateway, 30_000);
    jane = (await bed.login("jane")).idToken;
  });
  after(async () => {
    await gateway?.gateway.stop();
    await bed?.stop();
  });

  const send = async (method: string, target: string) => {
    const request = {
      method,
      path: target,
      headers: { authorization: `Bearer ${jane}`, "impersonate-user": "prop-bot" },
    };
    const [viaGateway, direct] = await Promise.all([
      clientExchange(gateway.url, bed.ca.certPem, request),
      clientExchange(bed.apiServer?.url ?? "", bed.ca.certPem, request),
    ]);
    return { viaGateway, direct };
  };

  it("the RBAC decides: some requests are allowed, some refused", async () => {
    const allowed = await send("GET", "/api/v1/namespaces/default/configmaps?watch=yes");
    assert.equal(impersonationRefused(allowed.direct), false, allowed.direct.body);
    const refused = await send("GET", "/api/v1/namespaces/default/configmaps/x");
    assert.equal(impersonationRefused(refused.direct), true, refused.direct.body);
  });

  it("agrees with kube-apiserver on every generated request whether the impersonation is refused", async () => {
    // 2 requests and a few SubjectAccessReviews per case: the default 500 cases take about 10 s.
    await fc.assert(
      fc.asyncProperty(request, async ({ method, path, query }) => {
        const target = query ? `${path}?${query.join("&")}` : path;
        const { viaGateway, direct } = await send(method, target);
        assert.equal(
          impersonationRefused(viaGateway),
          impersonationRefused(direct),
          `${method} ${target}\ngateway ${viaGateway.status} ${viaGateway.body}\ndirect ${direct.status} ${direct.body}`,
        );
      }),
      propertyParameters(),
    );
  });
});
