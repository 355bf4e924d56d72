// The usernames kube-apiserver gives a meaning to (src/apiserver/usernames.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  isNodeUsername,
  nodeName,
  serviceAccountNamespace,
  splitServiceAccountUsername,
} from "../../src/apiserver/usernames.ts";

describe("ServiceAccount and node usernames", () => {
  it("reads ServiceAccount and node usernames as kube-apiserver does", () => {
    assert.equal(serviceAccountNamespace("system:serviceaccount:kube-system:default"), "kube-system");
    assert.equal(serviceAccountNamespace("system:serviceaccount:ns:a.b-c"), "ns");
    for (const name of [
      "system:serviceaccount:Bad:sa",
      "system:serviceaccount:a:b:c",
      "system:serviceaccount::sa",
      "system:serviceaccount:ns:",
      `system:serviceaccount:${"a".repeat(64)}:sa`,
      "system:serviceaccounts:ns:sa",
    ])
      assert.equal(serviceAccountNamespace(name), undefined, name);
    assert.equal(isNodeUsername("system:node:n1.example"), true);
    assert.equal(isNodeUsername("system:node:N1"), false);
    assert.equal(isNodeUsername("system:node:"), false);
    assert.equal(isNodeUsername(`system:node:${"a".repeat(254)}`), false);
  });

  it("splits a ServiceAccount username into namespace and name, and names a node", () => {
    assert.deepEqual(splitServiceAccountUsername("system:serviceaccount:ns:sa"), { namespace: "ns", name: "sa" });
    assert.equal(nodeName("system:node:n1.example"), "n1.example");
    assert.equal(nodeName("system:node:N1"), undefined);
  });
});
