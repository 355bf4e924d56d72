import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  clientImpersonationHeader,
  escapeExtraKey,
  impersonationHeaders,
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
});
