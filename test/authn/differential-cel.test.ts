// Differential for CEL in AuthenticationConfiguration: claim mappings (username, groups, uid,
// extra), claim validation rules and user validation rules as expressions, given to the real
// kube-apiserver and to the gateway; tokens from the raw signer cover each path and each failure.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type BedIssuers, startTestBed, type TestBed } from "../../testbed/bed.ts";
import {
  gatewayReady,
  prepareGatewayCredentials,
  type RunningGateway,
  startTestGateway,
  writeAuthenticationConfig,
} from "../../testbed/gateway.ts";
import { waitFor } from "../../testbed/http.ts";
import { clients } from "../../testbed/issuer/oidc-provider.ts";
import { selfSubjectReview } from "../helpers/kubectl-identity.ts";

interface Variant {
  readonly name: string;
  /** Audiences other than the default single `kubernetes` (MatchAny). */
  readonly audiences?: readonly string[];
  /** Claim changes that make a token this configuration accepts (used to wait for readiness). */
  readonly accepted?: Record<string, unknown>;
  readonly rules: (issuers: BedIssuers) => Record<string, unknown>;
  readonly cases: [string, Record<string, unknown>][];
}

const variants: Variant[] = [
  {
    name: "every mapping as an expression, with claim and user validation rules",
    rules: () => ({
      claimValidationRules: [
        { expression: "claims.?hd.orValue('') == 'example.com'", message: "hd must be example.com" },
        { expression: "!has(claims.blocked) || claims.blocked == false", message: "blocked" },
      ],
      claimMappings: {
        username: { expression: "'cel:' + claims.sub" },
        groups: { expression: "claims.?roles.orValue('').split(',').filter(r, r != '').map(r, 'role:' + r)" },
        uid: { expression: "claims.?employee_id.orValue('')" },
        extra: [
          { key: "example.org/tenant", valueExpression: "claims.?tenant.orValue('')" },
          { key: "example.org/flags", valueExpression: "has(claims.admin) && claims.admin == true ? ['admin'] : []" },
        ],
      },
      userValidationRules: [
        { expression: "!user.username.startsWith('cel:system:')", message: "no system users" },
        {
          expression: "!('example.org/tenant' in user.extra) || user.extra['example.org/tenant'][0] != 'banned'",
          message: "banned tenant",
        },
      ],
    }),
    cases: [
      ["valid", {}],
      ["roles split into groups", { roles: "dev,ops" }],
      ["roles with empty entries", { roles: "dev,,ops," }],
      ["uid from employee_id", { employee_id: "e-17" }],
      ["uid expression returning a number", { employee_id: 17 }],
      ["tenant extra", { tenant: "acme" }],
      ["admin flag extra", { admin: true }],
      ["hd missing", { hd: undefined }],
      ["hd wrong", { hd: "example.org" }],
      ["blocked", { blocked: true }],
      ["system username refused by a user rule", { sub: "system:node" }],
      ["banned tenant refused by a user rule", { tenant: "banned" }],
      ["sub missing: no such key", { sub: undefined }],
      ["sub a number: no string concatenation", { sub: 5 }],
      ["credential-id next to CEL extras", { jti: "j-1", tenant: "acme" }],
    ],
  },
  {
    name: "claim username, groups and dotted claims by expression, mixed rules",
    rules: ({ oidcProvider }) => ({
      claimValidationRules: [
        { claim: "hd", requiredValue: "example.com" },
        { expression: "claims.exp - claims.iat <= 3600", message: "lifetime too long" },
      ],
      claimMappings: {
        username: { claim: "preferred_username", prefix: `${oidcProvider.url}#` },
        groups: { expression: "claims.groups" },
        uid: { claim: "sub" },
        extra: [{ key: "example.org/unit", valueExpression: "claims.?org__dot__unit.orValue('')" }],
      },
    }),
    cases: [
      ["valid", {}],
      ["groups as a string", { groups: "solo" }],
      ["groups null", { groups: null }],
      ["groups with an empty string", { groups: ["a", ""] }],
      ["groups a number", { groups: 3 }],
      ["groups missing: no such key", { groups: undefined }],
      ["a dotted claim name through __dot__", { "org.unit": "research" }],
      ["lifetime over an hour", { exp: Math.floor(Date.now() / 1000) + 7200 }],
      ["hd missing", { hd: undefined }],
    ],
  },
  {
    name: "audiences checked exactly with sets.equivalent",
    audiences: [clients.kubernetes.id, clients.otherApp.id],
    accepted: { aud: [clients.kubernetes.id, clients.otherApp.id] },
    rules: () => ({
      claimValidationRules: [
        {
          expression: `sets.equivalent(claims.aud, ['${clients.kubernetes.id}', '${clients.otherApp.id}'])`,
          message: "exact audience set",
        },
      ],
      claimMappings: { username: { claim: "sub", prefix: "" } },
    }),
    cases: [
      ["both audiences", { aud: [clients.otherApp.id, clients.kubernetes.id] }],
      ["one audience as a list", { aud: [clients.kubernetes.id] }],
      ["one audience as a string", { aud: clients.kubernetes.id }],
      ["an extra audience", { aud: [clients.kubernetes.id, clients.otherApp.id, "third"] }],
    ],
  },
  {
    // kube-apiserver types claim mappings as any at load (compile.go: ReturnTypes AnyType) and
    // checks the result per token; the gateway refused a list of ints at load.
    name: "a mapping whose static type is not a string loads, and is checked per token",
    rules: () => ({
      claimMappings: {
        username: { expression: "claims.sub" },
        extra: [{ key: "example.org/n", valueExpression: "claims.sub == 'user-1' ? [] : [1]" }],
      },
    }),
    cases: [
      ["the empty branch", {}],
      ["the branch of ints", { sub: "user-2" }],
    ],
  },
];

for (const variant of variants) {
  describe(`differential CEL: ${variant.name}`, { timeout: 300_000 }, () => {
    let bed: TestBed;
    let gateway: RunningGateway;
    const jwt = (issuers: BedIssuers) => [
      {
        issuer: {
          url: issuers.oidcProvider.url,
          certificateAuthority: issuers.caPem,
          audiences: [clients.kubernetes.id],
        },
        ...variant.rules(issuers),
      },
    ];
    const token = (changes: Record<string, unknown>) => {
      const now = Math.floor(Date.now() / 1000);
      const claims: Record<string, unknown> = {
        iss: bed.issuer.url,
        aud: clients.kubernetes.id,
        sub: "user-1",
        preferred_username: "pat",
        hd: "example.com",
        groups: ["team"],
        iat: now,
        exp: now + 600,
        ...changes,
      };
      for (const [key, value] of Object.entries(changes)) if (value === undefined) delete claims[key];
      return bed.mint({ alg: "RS256", kid: "rsa-1", claims });
    };

    before(async () => {
      bed = await startTestBed({ jwt });
      const file = await writeAuthenticationConfig(bed, jwt({ oidcProvider: bed.issuer, caPem: bed.ca.certPem }));
      gateway = await startTestGateway(await prepareGatewayCredentials(bed), [`--authentication-config=${file}`]);
      await gatewayReady(gateway);
      await waitFor(
        "kube-apiserver's authenticator",
        async () =>
          (await selfSubjectReview(bed.apiServer?.url ?? "", bed.ca.certPem, token(variant.accepted ?? {}))).status ===
          201,
        {
          timeoutMs: 30_000,
        },
      );
    });
    after(async () => {
      await gateway?.gateway.stop();
      await bed?.stop();
    });

    const statuses: number[] = [];
    for (const [name, changes] of variant.cases) {
      it(name, async () => {
        const value = token(changes);
        const oracle = await selfSubjectReview(bed.apiServer?.url ?? "", bed.ca.certPem, value);
        assert.ok([201, 401].includes(oracle.status), `kube-apiserver answered ${oracle.status}: ${oracle.body}`);
        assert.deepEqual(await selfSubjectReview(gateway.url, bed.ca.certPem, value), oracle);
        statuses.push(oracle.status);
      });
    }
    it("covered both decisions", () => {
      assert.ok(statuses.includes(201) && statuses.includes(401), `decisions seen: ${statuses.join(",")}`);
    });
  });
}
