import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nearMisses, prefixOf } from "../../src/doctor/subject-matching.ts";

const subjects = (...names: string[]) => names.map((name) => ({ binding: `RoleBinding default/${name}`, name }));
const whys = (actual: string, names: string[], prefix?: string) =>
  nearMisses(actual, subjects(...names), prefix).map((m) => [m.name, m.why]);

describe("RBAC near misses", () => {
  it("finds a missing, doubled or different prefix", () => {
    assert.deepEqual(whys("oidc:jane", ["jane"], "oidc:"), [["jane", 'the prefix "oidc:" is missing']]);
    assert.deepEqual(whys("oidc:jane", ["oidc:oidc:jane"], "oidc:"), [
      ["oidc:oidc:jane", 'the prefix "oidc:" is doubled'],
    ]);
    assert.deepEqual(whys("oidc:jane", ["keycloak:jane"], "oidc:"), [
      ["keycloak:jane", 'it carries the prefix "keycloak:" instead of "oidc:"'],
    ]);
  });

  it("finds kube-apiserver's default issuer# prefix forgotten in a binding", () => {
    const issuerPrefix = "https://keycloak.example.com/realms/kube#";
    assert.deepEqual(whys(`${issuerPrefix}jane-0001`, ["jane-0001"], issuerPrefix), [
      ["jane-0001", `the prefix ${JSON.stringify(issuerPrefix)} is missing`],
    ]);
  });

  it("finds Keycloak's full group paths on either side, and letter case", () => {
    assert.equal(whys("oidc:/developers", ["oidc:developers"], "oidc:")[0]?.[1]?.includes("full group path"), true);
    assert.equal(whys("oidc:developers", ["oidc:/developers"], "oidc:")[0]?.[1]?.includes("full group path"), true);
    assert.match(whys("oidc:Jane", ["oidc:jane"], "oidc:")[0]?.[1] ?? "", /letter case/);
  });

  it("leaves exact matches and unrelated names alone", () => {
    assert.deepEqual(whys("oidc:jane", ["oidc:jane", "oidc:john", "system:masters"], "oidc:"), []);
  });

  it("guesses the prefix when the configuration is unknown", () => {
    assert.equal(prefixOf("oidc:jane"), "oidc:");
    assert.equal(prefixOf("https://issuer#sub"), "https://issuer#");
    assert.equal(prefixOf("jane@example.com"), "");
    assert.equal(prefixOf("jane", "oidc:"), "");
  });
});
