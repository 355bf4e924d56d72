// Differential with --authentication-config: one AuthenticationConfiguration with two issuers at
// once (oidc-provider and Keycloak), given to the bed's kube-apiserver, to the gateway and to the
// `token` command; every token must get the same decision and the same identity, uid and extra
// included.
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
import { keycloakClients, keycloakClusterAudience } from "../../testbed/keycloak/keycloak.ts";
import { selfSubjectReview } from "../helpers/kubectl-identity.ts";
import { assertTokenCommandAgrees } from "../helpers/token-verdict.ts";

function authenticators({ oidcProvider, keycloak, caPem }: BedIssuers) {
  if (!keycloak) throw new Error("this test needs Keycloak");
  return [
    {
      issuer: {
        url: oidcProvider.url,
        certificateAuthority: caPem,
        audiences: [clients.kubernetes.id, clients.otherApp.id],
        audienceMatchPolicy: "MatchAny",
      },
      claimMappings: {
        username: { claim: "email", prefix: "op:" },
        groups: { claim: "groups", prefix: "op:" },
        uid: { claim: "sub" },
      },
    },
    {
      issuer: {
        url: keycloak.issuerUrl,
        discoveryURL: `${keycloak.issuerUrl}/.well-known/openid-configuration`,
        certificateAuthority: caPem,
        audiences: [keycloakClusterAudience],
      },
      claimValidationRules: [{ claim: "azp", requiredValue: keycloakClients.gateway.id }],
      claimMappings: {
        username: { claim: "preferred_username", prefix: "kc:" },
        groups: { claim: "groups", prefix: "kc:" },
        uid: { claim: "sub" },
      },
    },
  ];
}

describe("differential: AuthenticationConfiguration with oidc-provider and Keycloak", { timeout: 600_000 }, () => {
  let bed: TestBed;
  let gateway: RunningGateway;
  let file: string;

  before(async () => {
    bed = await startTestBed({ keycloak: true, jwt: authenticators });
    file = await writeAuthenticationConfig(
      bed,
      authenticators({ oidcProvider: bed.issuer, keycloak: bed.keycloak, caPem: bed.ca.certPem }),
    );
    gateway = await startTestGateway(await prepareGatewayCredentials(bed), [`--authentication-config=${file}`]);
    await gatewayReady(gateway, 60_000);
    await waitFor(
      "kube-apiserver's authenticators",
      async () =>
        (
          await selfSubjectReview(
            bed.apiServer?.url ?? "",
            bed.ca.certPem,
            (
              await bed.keycloakLogin("testuser")
            ).idToken,
          )
        ).status === 201,
      { timeoutMs: 60_000 },
    );
  });
  after(async () => {
    await gateway?.gateway.stop();
    await bed?.stop();
  });

  const now = () => Math.floor(Date.now() / 1000);
  const minted = (claims: Record<string, unknown>) =>
    bed.mint({
      alg: "ES256",
      kid: "ec-p256",
      claims: {
        iss: bed.issuer.url,
        aud: clients.kubernetes.id,
        sub: "m-1",
        email: "m@example.com",
        exp: now() + 300,
        ...claims,
      },
    });

  const cases: [string, () => Promise<string> | string][] = [
    ["oidc-provider: jane (uid from sub)", async () => (await bed.login("jane")).idToken],
    ["oidc-provider: bob, email not verified", async () => (await bed.login("bob")).idToken],
    ["oidc-provider: carol, groups as a string", async () => (await bed.login("carol")).idToken],
    ["oidc-provider: second audience (MatchAny)", async () => (await bed.login("jane", clients.otherApp)).idToken],
    ["oidc-provider: an audience not configured", async () => (await bed.login("jane", clients.dashboard)).idToken],
    ["oidc-provider: ES256 (every algorithm is allowed with the file)", () => minted({})],
    ["oidc-provider: uid claim missing", () => minted({ sub: undefined })],
    ["oidc-provider: uid claim not a string", () => minted({ sub: 7 })],
    ["oidc-provider: expired", () => minted({ exp: now() - 10 })],
    ["oidc-provider: jti becomes credential-id", () => minted({ jti: "abc" })],
    ["Keycloak: testuser id token", async () => (await bed.keycloakLogin("testuser")).idToken],
    ["Keycloak: nogroups id token", async () => (await bed.keycloakLogin("nogroups")).idToken],
    ["Keycloak: access token (no cluster audience)", async () => (await bed.keycloakLogin("testuser")).accessToken],
    [
      "Keycloak: full group paths",
      async () => {
        await bed.keycloak?.admin.setFullGroupPath(keycloakClients.gateway.id, true);
        try {
          return (await bed.keycloakLogin("testuser")).idToken;
        } finally {
          await bed.keycloak?.admin.setFullGroupPath(keycloakClients.gateway.id, false);
        }
      },
    ],
  ];

  for (const [name, token] of cases) {
    it(name, async () => {
      const value = await token();
      const oracle = await selfSubjectReview(bed.apiServer?.url ?? "", bed.ca.certPem, value);
      const through = await selfSubjectReview(gateway.url, bed.ca.certPem, value);
      assert.ok([201, 401].includes(oracle.status), `kube-apiserver answered ${oracle.status}: ${oracle.body}`);
      assert.deepEqual(through, oracle);
      await assertTokenCommandAgrees([`--authentication-config=${file}`], value, oracle);
    });
  }

  it("covered both decisions and both issuers", async () => {
    const jane = await selfSubjectReview(gateway.url, bed.ca.certPem, (await bed.login("jane")).idToken);
    assert.equal((jane.user as { uid?: string }).uid, "jane-0001");
    const testuser = await selfSubjectReview(
      gateway.url,
      bed.ca.certPem,
      (await bed.keycloakLogin("testuser")).idToken,
    );
    assert.equal((testuser.user as { username: string }).username, "kc:testuser");
  });
});
