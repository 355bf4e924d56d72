import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseAuthenticationConfiguration } from "../../src/config/authentication-config.ts";
import { ConfigError } from "../../src/config/errors.ts";

const doc = (jwt: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ apiVersion: "apiserver.config.k8s.io/v1", kind: "AuthenticationConfiguration", jwt, ...extra });
const authenticator = (changes: Record<string, unknown> = {}) => ({
  issuer: { url: "https://issuer.example.com", audiences: ["kubernetes"] },
  claimMappings: { username: { claim: "sub", prefix: "" } },
  ...changes,
});
const refused = (text: string, message: RegExp) =>
  assert.throws(
    () => parseAuthenticationConfiguration(text, "auth.yaml"),
    (error: unknown) =>
      error instanceof ConfigError && error.code === "AUTHENTICATION_CONFIG_INVALID" && message.test(error.message),
  );

describe("AuthenticationConfiguration", () => {
  it("reads v1, v1beta1 and v1alpha1, as YAML or JSON", () => {
    for (const version of ["v1", "v1beta1", "v1alpha1"]) {
      const [jwt] = parseAuthenticationConfiguration(
        `apiVersion: apiserver.config.k8s.io/${version}
kind: AuthenticationConfiguration
jwt:
- issuer:
    url: https://issuer.example.com
    audiences: [a, b]
    audienceMatchPolicy: MatchAny
  claimValidationRules:
  - claim: hd
    requiredValue: example.com
  claimMappings:
    username: {claim: email, prefix: ""}
    groups: {claim: groups, prefix: "oidc:"}
    uid: {claim: sub}
`,
        "auth.yaml",
      );
      assert.deepEqual(jwt?.issuer.audiences, ["a", "b"]);
      assert.deepEqual(jwt?.claimMappings, {
        username: { claim: "email", prefix: "" },
        groups: { claim: "groups", prefix: "oidc:" },
        uid: { claim: "sub" },
      });
      assert.deepEqual(jwt?.requiredClaims, { hd: "example.com" });
      assert.equal(jwt?.signingAlgorithms.length, 9, "every valid algorithm, as kube-apiserver allows with the file");
    }
  });

  it("has no defaulting: a claim needs an explicit prefix", () => {
    refused(
      doc([authenticator({ claimMappings: { username: { claim: "sub" } } })]),
      /jwt\[0\]\.claimMappings\.username\.prefix: Required value: prefix is required when claim is set\. It can be set to an empty string to disable prefixing/,
    );
  });

  it("uses kube-apiserver's field paths and reasons", () => {
    refused(
      doc([authenticator({ issuer: { url: "http://issuer.example.com", audiences: ["k"] } })]),
      /jwt\[0\]\.issuer\.url: Invalid value: "http:\/\/issuer\.example\.com": URL scheme must be https/,
    );
    refused(
      doc([authenticator({ issuer: { url: "https://i.example.com", audiences: [] } })]),
      /jwt\[0\]\.issuer\.audiences: Required value/,
    );
    refused(
      doc([authenticator({ issuer: { url: "https://i.example.com", audiences: ["a", "b"] } })]),
      /audienceMatchPolicy: Invalid value: "": audienceMatchPolicy must be MatchAny for multiple audiences/,
    );
    refused(
      doc([
        authenticator({
          issuer: { url: "https://i.example.com", audiences: ["a", "a"], audienceMatchPolicy: "MatchAny" },
        }),
      ]),
      /audiences\[1\]: Duplicate value: "a"/,
    );
    refused(doc([authenticator(), authenticator()]), /jwt\[1\]\.issuer\.url: Duplicate value/);
    refused(
      doc([
        authenticator({
          issuer: { url: "https://i.example.com", discoveryURL: "https://i.example.com", audiences: ["a"] },
        }),
      ]),
      /discoveryURL must be different from URL/,
    );
    refused(
      doc([
        authenticator({ issuer: { url: "https://i.example.com", audiences: ["a"], certificateAuthority: "nope" } }),
      ]),
      /certificateAuthority: Invalid value: "<omitted>": data does not contain any valid RSA or ECDSA certificates/,
    );
    refused(
      doc([authenticator({ claimMappings: {} })]),
      /claimMappings\.username: Required value: claim or expression is required/,
    );
    refused(
      doc(
        Array.from({ length: 65 }, (_, i) =>
          authenticator({ issuer: { url: `https://i${i}.example.com`, audiences: ["a"] } }),
        ),
      ),
      /jwt: Too many: 65: must have at most 64 items/,
    );
  });

  it("lists every problem at once", () => {
    assert.throws(
      () =>
        parseAuthenticationConfiguration(
          doc([{ issuer: { url: "http://x", audiences: [] }, claimMappings: {} }]),
          "auth.yaml",
        ),
      (error: unknown) => (error as Error).message.split(", jwt").length >= 3,
    );
  });

  it("refuses unknown fields (strict decoding) and anonymous access", () => {
    refused(doc([authenticator({ claimMapping: {} })]), /unknown field "jwt\[0\]\.claimMapping"/);
    refused(doc([authenticator()], { anonymous: { enabled: true } }), /anonymous\.enabled: Forbidden/);
  });

  it("compiles CEL expressions at load and keeps them", () => {
    const [jwt] = parseAuthenticationConfiguration(
      doc([
        authenticator({
          claimValidationRules: [{ expression: "claims.?hd.orValue('') == 'example.com'", message: "wrong domain" }],
          claimMappings: {
            username: { expression: "'oidc:' + claims.sub" },
            groups: { expression: "claims.roles.split(',').map(r, 'role:' + r)" },
            uid: { expression: "claims.sub" },
            extra: [{ key: "example.org/tenant", valueExpression: "claims.?tenant.orValue('')" }],
          },
          userValidationRules: [{ expression: "!user.username.startsWith('system:')", message: "no system users" }],
        }),
      ]),
      "auth.yaml",
    );
    assert.deepEqual(jwt?.claimMappings.username, { expression: "'oidc:' + claims.sub" });
    assert.deepEqual(jwt?.claimMappings.extra, [
      { key: "example.org/tenant", valueExpression: "claims.?tenant.orValue('')" },
    ]);
    assert.equal(jwt?.claimValidationExpressions?.[0]?.message, "wrong domain");
    assert.equal(jwt?.userValidationRules?.length, 1);
  });

  it("reports CEL syntax and type errors at load, with the field path", () => {
    refused(
      doc([authenticator({ claimMappings: { username: { expression: "claims.sub +" } } })]),
      /jwt\[0\]\.claimMappings\.username\.expression: Invalid value: "claims\.sub \+": compilation failed/,
    );
    // A mapping of any type loads (kube-apiserver checks it per token); a validation rule must be
    // typed bool, dyn included (compile.go): both were the other way round.
    assert.ok(
      parseAuthenticationConfiguration(
        doc([authenticator({ claimMappings: { username: { expression: "1 + 2" } } })]),
        "auth.yaml",
      ),
    );
    refused(
      doc([authenticator({ claimValidationRules: [{ expression: "claims.admin", message: "m" }] })]),
      /claimValidationRules\[0\]\.expression: .*must evaluate to bool, got dyn/,
    );
    refused(
      doc([authenticator({ claimValidationRules: [{ expression: "'x'", message: "m" }] })]),
      /claimValidationRules\[0\]\.expression: .*must evaluate to bool, got string/,
    );
    refused(
      doc([authenticator({ userValidationRules: [{ expression: "user.username", message: "m" }] })]),
      /userValidationRules\[0\]\.expression: .*must evaluate to bool/,
    );
    refused(
      doc([authenticator({ claimMappings: { username: { expression: "claims.sub", prefix: "x:" } } })]),
      /username\.prefix: Invalid value: "x:": may not be specified when expression is set/,
    );
  });

  it("applies kube-apiserver's extra key and email_verified rules", () => {
    const extra = (key: string) =>
      doc([
        authenticator({
          claimMappings: { username: { claim: "sub", prefix: "" }, extra: [{ key, valueExpression: "'v'" }] },
        }),
      ]);
    refused(extra("tenant"), /extra\[0\]\.key: Invalid value: "tenant": must be a domain-prefixed path/);
    refused(extra("Example.org/Tenant"), /must be lowercase/);
    refused(extra("kubernetes.io/tenant"), /reserved for Kubernetes use/);
    refused(extra("sub.k8s.io/tenant"), /reserved for Kubernetes use/);
    refused(
      doc([authenticator({ claimMappings: { username: { expression: "claims.email" } } })]),
      /claims\.email_verified must be used in claimMappings\.username\.expression/,
    );
    assert.ok(
      parseAuthenticationConfiguration(
        doc([
          authenticator({ claimMappings: { username: { expression: "claims.email_verified ? claims.email : ''" } } }),
        ]),
        "auth.yaml",
      ),
    );
  });

  it("refuses another kind or apiVersion", () => {
    refused(JSON.stringify({ apiVersion: "v1", kind: "ConfigMap" }), /expected kind AuthenticationConfiguration/);
  });
});
