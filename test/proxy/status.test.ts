import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StatusError, toStatus, unauthorized } from "../../src/proxy/status.ts";

describe("Status errors", () => {
  it("writes kube-apiserver's 401 byte for byte (129 bytes with the newline)", () => {
    const response = toStatus(unauthorized());
    assert.equal(response.status, 401);
    assert.equal(
      response.body,
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}\n',
    );
    assert.equal(Buffer.byteLength(response.body), 129);
    assert.deepEqual(response.headers, { "content-type": "application/json", "cache-control": "no-cache, private" });
  });

  it("adds nosniff and details to a 403 like responsewriters.Forbidden", () => {
    const response = toStatus(new StatusError("X", 403, "Forbidden", "no", { details: { kind: "pods" } }));
    assert.equal(response.headers["x-content-type-options"], "nosniff");
    assert.equal(
      response.body,
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"no","reason":"Forbidden","details":{"kind":"pods"},"code":403}\n',
    );
  });

  it("hides the message of an unexpected error", () => {
    const response = toStatus(new Error("secret internals"));
    assert.equal(response.status, 500);
    assert.doesNotMatch(response.body, /secret internals/);
    assert.equal(JSON.parse(response.body).reason, "InternalError");
  });
});
