import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { argvOf, flagsOf } from "../../src/doctor/container-flags.ts";

describe("flags read from a container's command and args", () => {
  it("reads --name=value, --name value and bare booleans; the last occurrence wins", () => {
    const flags = flagsOf([
      "kube-apiserver",
      "--oidc-issuer-url=https://a",
      "--oidc-client-id",
      "kubernetes",
      "--allow-privileged",
      "--oidc-issuer-url=https://b",
      "-v=2",
    ]);
    assert.equal(flags.get("oidc-issuer-url"), "https://b");
    assert.equal(flags.get("oidc-client-id"), "kubernetes");
    assert.equal(flags.get("allow-privileged"), "true");
    assert.equal(flags.has("v"), false);
    assert.deepEqual(
      argvOf(flags, (n) => n.startsWith("oidc-")),
      ["--oidc-issuer-url=https://b", "--oidc-client-id=kubernetes"],
    );
  });
});
