import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { labelSelectorParses, requestAttributes } from "../../src/apiserver/request-info.ts";

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

// What kube-apiserver v1.37.2 derives, where the gateway's earlier partial rewrite did not
// (requestinfo.go NewRequestInfo on Go's decoded req.URL; see src/apiserver/request-info.ts).
describe("request attributes as kube-apiserver derives them (hardening round 2, finding 4)", () => {
  const cases: [string, string, unknown][] = [
    // Convert_Slice_string_To_bool: anything but "0" and "false" (any case) is true.
    ["GET", "/api/v1/pods?watch=yes", resource("watch", "", "pods")],
    ["GET", "/api/v1/pods?watch=t", resource("watch", "", "pods")],
    ["GET", "/api/v1/pods?watch=TRUE", resource("watch", "", "pods")],
    ["GET", "/api/v1/pods?watch=", resource("watch", "", "pods")],
    ["GET", "/api/v1/pods?watch=garbage", resource("watch", "", "pods")],
    ["GET", "/api/v1/pods?watch=FALSE", resource("list", "", "pods")],
    ["GET", "/api/v1/pods?watch=0&watch=1", resource("list", "", "pods")],
    ["GET", "/api/v1/pods?watch", resource("watch", "", "pods")],
    // Options that do not decode: the field selector is dropped, watch still read.
    ["GET", "/api/v1/pods?fieldSelector=metadata.name%3Dp&limit=x", resource("list", "", "pods")],
    ["GET", "/api/v1/pods?fieldSelector=metadata.name%3Dp&labelSelector=a%20b", resource("list", "", "pods")],
    ["GET", "/api/v1/pods?fieldSelector=metadata.name%3Dp&watch=yes&limit=x", resource("watch", "", "pods")],
    ["GET", "/api/v1/pods?fieldSelector=metadata.name%3D%3Dp", resource("list", "", "pods", "", "p")],
    ["GET", "/api/v1/pods?fieldSelector=metadata.name!%3Dp", resource("list", "", "pods")],
    ["GET", "/api/v1/pods?fieldSelector=metadata.name%3Da%5C%2Cb", resource("list", "", "pods", "", "a,b")],
    ["GET", "/api/v1/pods?fieldSelector=metadata.name%3D..", resource("list", "", "pods")],
    ["GET", "/api/v1/pods?fieldSelector=spec.x%3D1,metadata.name%3Dq", resource("list", "", "pods", "", "q")],
    ["GET", "/api/v1/pods?fieldSelector=metadata.name%3Dp;x", resource("list", "", "pods")],
    // The path is percent-decoded before it is split; inner empty segments are kept.
    ["GET", "/api/v1/namespaces/a%2Fb/pods", resource("get", "", "b", "a", "pods")],
    ["GET", "/api/v1/namespaces/%41/pods", resource("list", "", "pods", "A")],
    ["GET", "/api/v1//pods", resource("get", "", "", "", "pods")],
    ["GET", "/api//v1/pods", resource("get", "", "v1", "", "pods", "", "")],
    ["GET", "//api/v1/pods//", resource("list", "", "pods")],
    ["GET", "/api/v1/namespaces/../pods", resource("list", "", "pods", "..")],
    ["DELETE", "/api/v1/namespaces/default/pods/", resource("deletecollection", "", "pods", "default")],
    ["GET", "/api/v1/proxy/nodes/n1/x", resource("proxy", "", "nodes", "", "n1")],
    ["GET", "/api/v1/watch/namespaces/default/pods/p", resource("watch", "", "pods", "default", "p")],
    ["GET", "/api/v1/namespaces/ns/status", resource("get", "", "namespaces", "ns", "ns", "status")],
    ["OPTIONS", "/api/v1/pods/p", resource("", "", "pods", "", "p")],
    // Absolute-form targets: Go uses their path.
    ["GET", "https://example.org/api/v1/namespaces/default/pods", resource("list", "", "pods", "default")],
    ["GET", "/version?watch=1", { resourceRequest: false, verb: "get", path: "/version" }],
    ["POST", "/apis/%61pps", { resourceRequest: false, verb: "post", path: "/apis/apps" }],
  ];
  for (const [method, url, want] of cases) {
    it(`${method} ${url}`, () => assert.deepEqual(requestAttributes(method, url), want));
  }

  it("refuses what Go's server refuses with 400 before kube-apiserver runs", () => {
    for (const url of ["/api/v1/namespaces/%zz/pods", "/api/v1/pods%4", "api/v1/pods"]) {
      assert.throws(() => requestAttributes("GET", url), { httpStatus: 400, reason: "BadRequest" }, url);
    }
  });

  it("parses label selectors as labels.Parse does", () => {
    for (const ok of [
      "",
      "a",
      "!a",
      "a=b",
      "a==b",
      "a!=b",
      "a in (x,y)",
      "a notin ()",
      "a in (,)",
      "x in (foo,,baz),y,z notin ()",
      "a>1",
      "a=",
      "example.com/a=b",
      "in in (in)",
      "a,\0junk",
    ]) {
      assert.equal(labelSelectorParses(ok), true, ok);
    }
    for (const bad of ["a b", "!!", "a=b c", "a in x", "a>b", "!a=b", "a,", ",a", "-a", "a=-b", "a in (x", "a\0b"]) {
      assert.equal(labelSelectorParses(bad), false, bad);
    }
  });
});
