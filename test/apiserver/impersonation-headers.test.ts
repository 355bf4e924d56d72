import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  clientImpersonationHeader,
  escapeExtraKey,
  impersonationHeaders,
  impersonationWouldChange,
  uncarriedValue,
} from "../../src/apiserver/impersonation-headers.ts";

describe("impersonation headers", () => {
  it("escapes extra keys as client-go's headerKeyEscape does", () => {
    assert.equal(
      escapeExtraKey("authentication.kubernetes.io/credential-id"),
      "authentication.kubernetes.io%2Fcredential-id",
    );
    assert.equal(escapeExtraKey("scopes"), "scopes");
    assert.equal(escapeExtraKey("100%"), "100%25");
    assert.equal(escapeExtraKey("a b:c"), "a%20b%3Ac");
    assert.equal(escapeExtraKey("ü"), "%C3%BC");
  });

  it("writes one Impersonate-Group line per group and one Extra line per value", () => {
    assert.deepEqual(
      impersonationHeaders({
        username: "jane",
        uid: "42",
        groups: ["a,b", "c"],
        extra: { "Example.org/Scopes": ["x", "y"] },
      }),
      [
        ["Impersonate-User", "jane"],
        ["Impersonate-Uid", "42"],
        ["Impersonate-Group", "a,b"],
        ["Impersonate-Group", "c"],
        ["Impersonate-Extra-example.org%2Fscopes", "x"],
        ["Impersonate-Extra-example.org%2Fscopes", "y"],
      ],
    );
  });

  it("sends non-ASCII identities as UTF-8 bytes", () => {
    const [[, value] = []] = impersonationHeaders({ username: "zoë", groups: [], extra: {} });
    assert.equal(Buffer.from(value ?? "", "latin1").toString("utf8"), "zoë");
  });

  it("refuses identities that would break the header line", () => {
    assert.throws(
      () => impersonationHeaders({ username: "jane\r\nImpersonate-Group: system:masters", groups: [], extra: {} }),
      {
        code: "UNSAFE_IDENTITY",
      },
    );
  });

  it("finds client impersonation headers in any letter case", () => {
    assert.equal(clientImpersonationHeader(["Accept", "*/*", "iMpErSoNaTe-GrOuP", "x"]), "iMpErSoNaTe-GrOuP");
    assert.equal(clientImpersonationHeader(["Accept", "*/*", "Impersonation", "x"]), undefined);
  });

  it("names the first value a header cannot carry, and why", () => {
    const user = (username: string, groups: string[] = [], extra: Record<string, string[]> = {}) => ({
      username,
      groups,
      extra,
    });
    assert.equal(uncarriedValue(user("ja\tne", ["ü", "a,b", ""], { "x.io/k": ["v w"] })), undefined);
    assert.deepEqual(uncarriedValue(user("jane", ["ok", " g"])), {
      field: "group",
      value: " g",
      reason: "it begins or ends with a space or tab, which the API server's header parser strips",
    });
    assert.equal(uncarriedValue(user("jane", [], { "x.io/k": ["v\n"] }))?.field, "extra x.io/k");
    assert.match(uncarriedValue(user("ja\u007fne"))?.reason ?? "", /control character/);
  });

  it("says when impersonation would give the identity groups the token did not", () => {
    const change = (username: string, groups: string[] = [], extra: Record<string, string[]> = {}, uid?: string) =>
      impersonationWouldChange({ username, uid, groups, extra });
    assert.match(change("system:serviceaccount:ns:sa") ?? "", /system:serviceaccounts:ns/);
    assert.equal(change("system:serviceaccount:ns:sa", ["g"]), undefined);
    assert.equal(change("system:serviceaccount:NS:sa"), undefined);
    assert.match(change("system:node:n1") ?? "", /system:nodes/);
    assert.equal(change("system:node:n1", ["g"]), undefined);
    assert.equal(change("system:node:n1", [], { "authentication.kubernetes.io/credential-id": ["JTI=1"] }), undefined);
    assert.equal(change("system:node:n1", [], {}, "u-1"), undefined);
    assert.match(change("system:anonymous") ?? "", /system:unauthenticated/);
    assert.match(change("system:anonymous", ["system:authenticated"]) ?? "", /system:unauthenticated/);
    assert.equal(change("system:anonymous", ["system:unauthenticated"]), undefined);
    assert.equal(change("jane"), undefined);
    assert.equal(change("system:masters"), undefined);
  });
});
