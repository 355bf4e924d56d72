import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { requestAttributes } from "../../src/proxy/request-info.ts";

const resource = (
  verb: string,
  group: string,
  resourceName: string,
  namespace = "",
  name = "",
  subresource = "",
  version = "v1",
) => ({
  resourceRequest: true,
  verb,
  group,
  version,
  resource: resourceName,
  subresource,
  namespace,
  name,
});

describe("request attributes (kube-apiserver's RequestInfo)", () => {
  const cases: [string, string, unknown][] = [
    ["GET", "/api/v1/namespaces/default/pods", resource("list", "", "pods", "default")],
    ["GET", "/api/v1/namespaces/default/pods?watch=true", resource("watch", "", "pods", "default")],
    ["GET", "/api/v1/watch/namespaces/default/pods", resource("watch", "", "pods", "default")],
    ["GET", "/api/v1/namespaces/default/pods/p1/log", resource("get", "", "pods", "default", "p1", "log")],
    [
      "POST",
      "/api/v1/namespaces/default/pods/p1/exec?command=sh",
      resource("create", "", "pods", "default", "p1", "exec"),
    ],
    ["DELETE", "/api/v1/namespaces/default/configmaps", resource("deletecollection", "", "configmaps", "default")],
    ["PATCH", "/apis/apps/v1/namespaces/ns/deployments/d", resource("patch", "apps", "deployments", "ns", "d")],
    ["GET", "/api/v1/namespaces/ns", resource("get", "", "namespaces", "ns", "ns")],
    ["PUT", "/api/v1/namespaces/ns/finalize", resource("update", "", "namespaces", "ns", "ns", "finalize")],
    ["GET", "/api/v1/nodes?fieldSelector=metadata.name%3Dn1", resource("list", "", "nodes", "", "n1")],
    [
      "POST",
      "/apis/authentication.k8s.io/v1/selfsubjectreviews",
      resource("create", "authentication.k8s.io", "selfsubjectreviews"),
    ],
    ["GET", "/version", { resourceRequest: false, verb: "get", path: "/version" }],
    ["GET", "/apis/apps", { resourceRequest: false, verb: "get", path: "/apis/apps" }],
  ];
  for (const [method, url, want] of cases) {
    it(`${method} ${url}`, () => assert.deepEqual(requestAttributes(method, url), want));
  }
});
