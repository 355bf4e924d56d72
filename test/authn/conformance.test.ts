// Conformance with kube-apiserver's own OIDC authenticator tests
// (k8s.io/apiserver plugin/pkg/authenticator/token/oidc/oidc_test.go, TestToken; the list in
// shared/reference/kube-apiserver-authn.md §3.6): the same inputs must give the same decision and
// the same identity. Cases needing what the bed cannot provide (accounts.google.com, egress
// selectors, discovery-URL path variants) are left out; distributed claims have their own
// differential test (distributed-claims.test.ts). The gateway refuses an empty username on
// purpose (an empty Impersonate-User would mean "act as the gateway"): case 8 asserts that.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Authenticator } from "../../src/authn/authenticator.ts";
import { type JwtAuthenticatorConfig, validSigningAlgorithms } from "../../src/authn/jwt-config.ts";
import { parseAuthenticationConfiguration } from "../../src/config/authentication-config.ts";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import { waitFor } from "../../testbed/http.ts";
import type { JwtAlgorithm } from "../../testbed/issuer/raw-signer.ts";

type Mappings = Partial<JwtAuthenticatorConfig["claimMappings"]>;

interface Case {
  readonly n: string;
  readonly name: string;
  readonly mappings?: Mappings;
  readonly audiences?: string[];
  readonly algorithms?: string[];
  readonly requiredClaims?: Record<string, string>;
  readonly claimRules?: { expression: string; message: string }[];
  readonly userRules?: { expression: string; message: string }[];
  readonly claims: Record<string, unknown>;
  readonly alg?: JwtAlgorithm;
  readonly kid?: string;
  readonly issuer?: string;
  readonly expect:
    | { user: { username: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> } }
    | { error: RegExp };
}

const username = { claim: "username", prefix: "" };
const all = [...validSigningAlgorithms];

const cases: Case[] = [
  { n: "1", name: "token", claims: { username: "jane" }, expect: { user: { username: "jane" } } },
  { n: "2", name: "no-username", claims: {}, expect: { error: /parse username claims "username": claim not present/ } },
  {
    n: "3",
    name: "email",
    mappings: { username: { claim: "email", prefix: "" } },
    claims: { email: "jane@example.com", email_verified: true },
    expect: { user: { username: "jane@example.com" } },
  },
  {
    n: "4",
    name: "email-not-verified",
    mappings: { username: { claim: "email", prefix: "" } },
    claims: { email: "jane@example.com", email_verified: false },
    expect: { error: /email not verified/ },
  },
  {
    n: "5",
    name: "no-email-verified-claim",
    mappings: { username: { claim: "email", prefix: "" } },
    claims: { email: "jane@example.com" },
    expect: { user: { username: "jane@example.com" } },
  },
  {
    n: "6",
    name: "invalid-email-verified-claim",
    mappings: { username: { claim: "email", prefix: "" } },
    claims: { email: "jane@example.com", email_verified: "false" },
    expect: { error: /parse 'email_verified' claim/ },
  },
  {
    n: "7",
    name: "username-prefix",
    mappings: { username: { claim: "username", prefix: "oidc:" } },
    claims: { username: "jane" },
    expect: { user: { username: "oidc:jane" } },
  },
  {
    n: "8",
    name: "empty username is allowed via claim (refused by the gateway on purpose)",
    claims: { username: "" },
    expect: { error: /empty username/ },
  },
  { n: "9", name: "minimum valid jwt payload", claims: { username: "jane" }, expect: { user: { username: "jane" } } },
  {
    n: "11",
    name: "groups",
    mappings: { username, groups: { claim: "groups", prefix: "" } },
    claims: { username: "jane", groups: ["team1", "team2"] },
    expect: { user: { username: "jane", groups: ["team1", "team2"] } },
  },
  {
    n: "12",
    name: "group-string-claim",
    mappings: { username, groups: { claim: "groups", prefix: "" } },
    claims: { username: "jane", groups: "team1" },
    expect: { user: { username: "jane", groups: ["team1"] } },
  },
  {
    n: "13",
    name: "no-groups-claim",
    mappings: { username, groups: { claim: "groups", prefix: "" } },
    claims: { username: "jane" },
    expect: { user: { username: "jane" } },
  },
  {
    n: "14",
    name: "invalid-groups-claim",
    mappings: { username, groups: { claim: "groups", prefix: "" } },
    claims: { username: "jane", groups: 42 },
    expect: { error: /parse groups claim "groups": json: cannot unmarshal number/ },
  },
  {
    n: "15",
    name: "groups-prefix",
    mappings: { username: { claim: "username", prefix: "oidc:" }, groups: { claim: "groups", prefix: "groups:" } },
    claims: { username: "jane", groups: ["team1", "team2"] },
    expect: { user: { username: "oidc:jane", groups: ["groups:team1", "groups:team2"] } },
  },
  {
    n: "16",
    name: "groups expression returns null",
    algorithms: all,
    mappings: { username, groups: { expression: "claims.groups" } },
    claims: { username: "jane", groups: null },
    expect: { user: { username: "jane" } },
  },
  {
    n: "17",
    name: "groups claim with expression",
    algorithms: all,
    mappings: {
      username,
      groups: { expression: '(claims.roles.split(",") + claims.other_roles.split(",")).map(role, "groups:" + role)' },
    },
    claims: { username: "jane", roles: "foo,bar", other_roles: "baz,qux" },
    expect: { user: { username: "jane", groups: ["groups:foo", "groups:bar", "groups:baz", "groups:qux"] } },
  },
  {
    n: "30",
    name: "required-claim",
    requiredClaims: { hd: "example.com", sub: "test" },
    claims: { username: "jane", hd: "example.com", sub: "test" },
    expect: { user: { username: "jane" } },
  },
  {
    n: "31",
    name: "no-required-claim",
    requiredClaims: { hd: "example.com" },
    claims: { username: "jane" },
    expect: { error: /required claim hd not present in ID token/ },
  },
  {
    n: "32",
    name: "invalid-required-claim",
    requiredClaims: { hd: "example.com" },
    claims: { username: "jane", hd: "example.org" },
    expect: { error: /value does not match\. Got = example\.org, want = example\.com/ },
  },
  {
    n: "33",
    name: "claim validation rule with expression",
    algorithms: all,
    claimRules: [{ expression: 'claims.hd == "example.com"', message: "hd claim must be example.com" }],
    claims: { username: "jane", hd: "example.com" },
    expect: { user: { username: "jane" } },
  },
  {
    n: "34",
    name: "claim validation rule with expression fails",
    algorithms: all,
    claimRules: [{ expression: 'claims.hd == "example.com"', message: "hd claim must be example.com" }],
    claims: { username: "jane" },
    expect: { error: /such key: hd/i },
  },
  {
    n: "35",
    name: "claim validation rule with expression and nested claims",
    algorithms: all,
    claimRules: [{ expression: 'claims.foo.bar == "baz"', message: "foo.bar claim must be baz" }],
    claims: { username: "jane", foo: { bar: "baz" } },
    expect: { user: { username: "jane" } },
  },
  {
    n: "36",
    name: "claim validation rule with mix of expression and claim",
    algorithms: all,
    requiredClaims: { hd: "example.com" },
    claimRules: [{ expression: 'claims.foo.bar == "baz"', message: "m" }],
    claims: { username: "jane", hd: "example.com", foo: { bar: "baz" } },
    expect: { user: { username: "jane" } },
  },
  {
    n: "37",
    name: "user validation rule fails for user.username",
    algorithms: all,
    mappings: { username: { claim: "username", prefix: "system:" } },
    userRules: [
      { expression: "!user.username.startsWith('system:')", message: "username cannot used reserved system: prefix" },
    ],
    claims: { username: "jane" },
    expect: {
      error:
        /validation expression '!user\.username\.startsWith\('system:'\)' failed: username cannot used reserved system: prefix/,
    },
  },
  {
    n: "38",
    name: "user validation rule fails for user.groups",
    algorithms: all,
    mappings: { username, groups: { claim: "groups", prefix: "system:" } },
    userRules: [
      {
        expression: "user.groups.all(group, !group.startsWith('system:'))",
        message: "groups cannot used reserved system: prefix",
      },
    ],
    claims: { username: "jane", groups: ["team1"] },
    expect: { error: /groups cannot used reserved system: prefix/ },
  },
  {
    n: "39",
    name: "user validation rules on empty uid, groups and extra",
    algorithms: all,
    userRules: [{ expression: "user.uid == '' && size(user.groups) == 0 && size(user.extra) == 0", message: "m" }],
    claims: { username: "jane" },
    expect: { user: { username: "jane" } },
  },
  {
    n: "40",
    name: "credential id and a user validation rule to simulate revocation",
    algorithms: all,
    userRules: [
      {
        expression: "user.extra['authentication.kubernetes.io/credential-id'].all(v, v != 'JTI=revoked')",
        message: "revoked",
      },
    ],
    claims: { username: "jane", jti: "revoked" },
    expect: { error: /failed: revoked/ },
  },
  {
    n: "41",
    name: "invalid-signature",
    kid: "rogue-rsa",
    claims: { username: "jane" },
    expect: { error: /failed to verify signature/ },
  },
  {
    n: "42",
    name: "expired",
    claims: { username: "jane", exp: Math.floor(Date.now() / 1000) - 3600 },
    expect: { error: /token is expired/ },
  },
  {
    n: "43",
    name: "invalid-signing-alg",
    alg: "PS256",
    claims: { username: "jane" },
    expect: { error: /id token signed with unsupported algorithm, expected \["RS256"\] got "PS256"/ },
  },
  {
    n: "44",
    name: "ps256",
    alg: "PS256",
    algorithms: ["PS256"],
    claims: { username: "jane" },
    expect: { user: { username: "jane" } },
  },
  {
    n: "45",
    name: "es512",
    alg: "ES512",
    kid: "ec-p521",
    algorithms: ["ES512"],
    claims: { username: "jane" },
    expect: { user: { username: "jane" } },
  },
  {
    n: "46",
    name: "invalid-aud",
    claims: { username: "jane", aud: "not-my-client" },
    expect: { error: /expected audience "my-client" got \["not-my-client"\]/ },
  },
  {
    n: "47",
    name: "multiple-audiences",
    claims: { username: "jane", aud: ["not-my-client", "my-client"], azp: "not-my-client" },
    expect: { user: { username: "jane" } },
  },
  {
    n: "48",
    name: "multiple-audiences in authentication config",
    audiences: ["random-client", "my-client"],
    claims: { username: "jane", aud: ["not-my-client", "my-client"] },
    expect: { user: { username: "jane" } },
  },
  {
    n: "49",
    name: "multiple-audiences in authentication config, multiple matches",
    audiences: ["random-client", "my-client", "other-client"],
    claims: { username: "jane", aud: ["other-client", "my-client"] },
    expect: { user: { username: "jane" } },
  },
  {
    n: "50",
    name: "multiple-audiences in authentication config, no match",
    audiences: ["random-client", "my-client"],
    claims: { username: "jane", aud: ["not-my-client"] },
    expect: { error: /expected audience in \["random-client","my-client"\] got \["not-my-client"\]/ },
  },
  {
    n: "51",
    name: "nuanced audience validation using claim validation rules",
    algorithms: all,
    audiences: ["bar", "foo", "baz"],
    claimRules: [
      {
        expression: 'sets.equivalent(claims.aud, ["bar", "foo", "baz"])',
        message: "audience must exactly contain [bar, baz, foo]",
      },
    ],
    claims: { username: "jane", aud: ["foo", "bar", "baz"] },
    expect: { user: { username: "jane" } },
  },
  {
    n: "52",
    name: "audience validation using claim validation rules fails",
    algorithms: all,
    audiences: ["bar", "foo", "baz"],
    claimRules: [
      {
        expression: 'sets.equivalent(claims.aud, ["bar", "foo", "baz"])',
        message: "audience must exactly contain [bar, baz, foo]",
      },
    ],
    claims: { username: "jane", aud: ["foo", "baz"] },
    expect: { error: /audience must exactly contain \[bar, baz, foo\]/ },
  },
  {
    n: "53",
    name: "good token with bad client id",
    claims: { username: "jane", aud: "my-wrong-client" },
    expect: { error: /expected audience "my-client"/ },
  },
  {
    n: "54",
    name: "invalid-issuer (not handled)",
    issuer: "https://example.com",
    claims: { username: "jane" },
    expect: { error: /no authenticator for issuer/ },
  },
  {
    n: "55",
    name: "username claim mapping with expression",
    algorithms: all,
    mappings: { username: { expression: "claims.username" } },
    claims: { username: "jane" },
    expect: { user: { username: "jane" } },
  },
  {
    n: "56",
    name: "username claim mapping with expression and nested claim",
    algorithms: all,
    mappings: { username: { expression: "claims.foo.username" } },
    claims: { foo: { username: "jane" } },
    expect: { user: { username: "jane" } },
  },
  {
    n: "57",
    name: "groups claim mapping with expression",
    algorithms: all,
    mappings: { username, groups: { expression: "claims.groups" } },
    claims: { username: "jane", groups: ["team1", "team2"] },
    expect: { user: { username: "jane", groups: ["team1", "team2"] } },
  },
  {
    n: "58",
    name: "uid claim mapping with expression",
    algorithms: all,
    mappings: { username, uid: { expression: "claims.uid" } },
    claims: { username: "jane", uid: "1234" },
    expect: { user: { username: "jane", uid: "1234" } },
  },
  {
    n: "59",
    name: "uid claim mapping with claim",
    algorithms: all,
    mappings: { username, uid: { claim: "uid" } },
    claims: { username: "jane", uid: "1234" },
    expect: { user: { username: "jane", uid: "1234" } },
  },
  {
    n: "60",
    name: "extra claim mapping with expression",
    algorithms: all,
    mappings: {
      username,
      extra: [
        { key: "example.org/foo", valueExpression: "claims.foo" },
        { key: "example.org/bar", valueExpression: "claims.bar" },
      ],
    },
    claims: { username: "jane", foo: "bar", bar: ["baz", "qux"] },
    expect: { user: { username: "jane", extra: { "example.org/foo": ["bar"], "example.org/bar": ["baz", "qux"] } } },
  },
  {
    n: "61",
    name: "extra claim mapping, value derived from claim value",
    algorithms: all,
    mappings: {
      username,
      extra: [
        { key: "example.org/admin", valueExpression: '(has(claims.is_admin) && claims.is_admin) ? "true":""' },
        { key: "example.org/admin_1", valueExpression: 'claims.?is_admin.orValue(false) == true ? "true":""' },
        {
          key: "example.org/non_existent",
          valueExpression: 'claims.?non_existent.orValue("default") == "default" ? "true":""',
        },
      ],
    },
    claims: { username: "jane", is_admin: true },
    expect: {
      user: {
        username: "jane",
        extra: { "example.org/admin": ["true"], "example.org/admin_1": ["true"], "example.org/non_existent": ["true"] },
      },
    },
  },
  {
    n: "62",
    name: "hardcoded extra claim mapping",
    algorithms: all,
    mappings: { username, extra: [{ key: "example.org/admin", valueExpression: '"true"' }] },
    claims: { username: "jane" },
    expect: { user: { username: "jane", extra: { "example.org/admin": ["true"] } } },
  },
  {
    n: "63",
    name: "extra claim mapping, empty string value for key",
    algorithms: all,
    mappings: { username, extra: [{ key: "example.org/foo", valueExpression: '""' }] },
    claims: { username: "jane" },
    expect: { user: { username: "jane" } },
  },
  {
    n: "65a",
    name: "claim mappings with expressions and deeply nested claim - success",
    algorithms: all,
    mappings: { username: { expression: "claims.a.b.c.d.username" } },
    claims: { a: { b: { c: { d: { username: "jane" } } } } },
    expect: { user: { username: "jane" } },
  },
  {
    n: "65b",
    name: "… - success via optional",
    algorithms: all,
    mappings: { username: { expression: "claims.?a.?b.?c.?d.?username.orValue('default')" } },
    claims: { a: { b: {} } },
    expect: { user: { username: "default" } },
  },
  {
    n: "65c",
    name: "… - failure without optional",
    algorithms: all,
    mappings: { username: { expression: "claims.a.b.c.d.username" } },
    claims: { a: { b: {} } },
    expect: { error: /such key: c/i },
  },
  {
    n: "67",
    name: "claims payload with deep use of __dot__",
    algorithms: all,
    mappings: { username: { expression: "claims.a__dot__b.c__dot__d" } },
    claims: { "a.b": { "c.d": "jane" } },
    expect: { user: { username: "jane" } },
  },
  {
    n: "68",
    name: "credential id set in extra even when no extra claim mappings are defined",
    claims: { username: "jane", jti: "1234" },
    expect: { user: { username: "jane", extra: { "authentication.kubernetes.io/credential-id": ["JTI=1234"] } } },
  },
  {
    n: "69",
    name: "credential id set in extra when extra claim mappings are defined",
    algorithms: all,
    mappings: { username, extra: [{ key: "example.org/foo", valueExpression: '"bar"' }] },
    claims: { username: "jane", jti: "1234" },
    expect: {
      user: {
        username: "jane",
        extra: { "authentication.kubernetes.io/credential-id": ["JTI=1234"], "example.org/foo": ["bar"] },
      },
    },
  },
  {
    n: "70",
    name: "non-string jti claim does not set credential id in extra or error",
    claims: { username: "jane", jti: 1234 },
    expect: { user: { username: "jane" } },
  },
];

describe("conformance with kube-apiserver's oidc_test.go TestToken", { timeout: 120_000 }, () => {
  let bed: TestBed;
  before(async () => {
    bed = await startTestBed({ kubeApiServer: false });
  });
  after(() => bed?.stop());

  for (const c of cases) {
    it(`${c.n}. ${c.name}`, async () => {
      const config: JwtAuthenticatorConfig = {
        issuer: { url: bed.issuer.url, certificateAuthority: bed.ca.certPem, audiences: c.audiences ?? ["my-client"] },
        claimMappings: { username, ...c.mappings },
        requiredClaims: c.requiredClaims ?? {},
        claimValidationExpressions: c.claimRules,
        userValidationRules: c.userRules,
        signingAlgorithms: c.algorithms ?? ["RS256"],
      };
      const authenticator = new Authenticator({ jwt: [config], allowSystemIdentities: true, tokenCacheTtlMs: 0 });
      authenticator.start();
      try {
        await waitFor("discovery", async () => authenticator.notReady().length === 0, {
          timeoutMs: 10_000,
          intervalMs: 20,
        });
        const now = Math.floor(Date.now() / 1000);
        const token = bed.mint({
          alg: c.alg ?? "RS256",
          kid: c.kid ?? "rsa-1",
          claims: { iss: c.issuer ?? bed.issuer.url, aud: "my-client", exp: now + 3600, ...c.claims },
        });
        const result = authenticator.authenticate(token);
        if ("error" in c.expect) {
          await assert.rejects(result, c.expect.error);
        } else {
          const { user } = await result;
          assert.deepEqual(
            { username: user.username, uid: user.uid, groups: user.groups, extra: user.extra },
            {
              username: c.expect.user.username,
              uid: c.expect.user.uid,
              groups: c.expect.user.groups ?? [],
              extra: c.expect.user.extra ?? {},
            },
          );
        }
      } finally {
        authenticator.close();
      }
    });
  }

  const initErrors: [string, string, unknown, RegExp][] = [
    [
      "72",
      "not-https",
      {
        issuer: { url: "http://auth.example.com", audiences: ["my-client"] },
        claimMappings: { username: { claim: "username", prefix: "" } },
      },
      /issuer\.url: Invalid value: "http:\/\/auth\.example\.com": URL scheme must be https/,
    ],
    [
      "73",
      "no-username-claim",
      { issuer: { url: "https://auth.example.com", audiences: ["my-client"] }, claimMappings: {} },
      /claimMappings\.username: Required value: claim or expression is required/,
    ],
    [
      "75",
      "extra claim mapping, multiple expressions for same key",
      {
        issuer: { url: "https://auth.example.com", audiences: ["my-client"] },
        claimMappings: {
          username: { claim: "username", prefix: "" },
          extra: [
            { key: "example.org/foo", valueExpression: "claims.foo" },
            { key: "example.org/foo", valueExpression: "claims.bar" },
          ],
        },
      },
      /extra\[1\]\.key: Duplicate value: "example\.org\/foo"/,
    ],
  ];
  for (const [n, name, jwt, error] of initErrors) {
    it(`${n}. ${name} (refused at load)`, () => {
      assert.throws(
        () =>
          parseAuthenticationConfiguration(
            JSON.stringify({
              apiVersion: "apiserver.config.k8s.io/v1",
              kind: "AuthenticationConfiguration",
              jwt: [jwt],
            }),
            "auth.yaml",
          ),
        error,
      );
    });
  }
});
