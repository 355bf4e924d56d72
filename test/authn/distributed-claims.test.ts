// Distributed groups claims, gateway against kube-apiserver with the same --oidc-* flags; the
// claim source is an endpoint of the bed's issuer (testbed/issuer/oidc-provider.ts).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import {
  gatewayReady,
  prepareGatewayCredentials,
  type RunningGateway,
  startTestGateway,
} from "../../testbed/gateway.ts";
import { waitFor } from "../../testbed/http.ts";
import { clients, distributedClaimsAccessToken } from "../../testbed/issuer/oidc-provider.ts";
import { selfSubjectReview } from "../helpers/kubectl-identity.ts";

const flags = (issuer: string) => [
  `--oidc-issuer-url=${issuer}`,
  `--oidc-client-id=${clients.kubernetes.id}`,
  "--oidc-username-claim=email",
  "--oidc-groups-claim=groups",
  "--oidc-groups-prefix=dist:",
];

describe("distributed groups claims (differential)", { timeout: 120_000 }, () => {
  let bed: TestBed;
  let gateway: RunningGateway;

  const token = (source: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}) =>
    bed.mint({
      alg: "RS256",
      kid: "rsa-1",
      claims: {
        iss: bed.issuer.url,
        aud: clients.kubernetes.id,
        sub: "d-1",
        email: "distributed@example.com",
        exp: Math.floor(Date.now() / 1000) + 300,
        _claim_names: { groups: "src1" },
        ...(source ? { _claim_sources: { src1: source } } : {}),
        ...extra,
      },
    });
  const endpoint = (query: string, accessToken = distributedClaimsAccessToken) => ({
    endpoint: `${bed.issuer.url}/distributed-claims?${query}`,
    access_token: accessToken,
  });

  before(async () => {
    bed = await startTestBed({
      oidcFlags: ({ oidcProvider, caFile }) => [...flags(oidcProvider.url), `--oidc-ca-file=${caFile}`],
    });
    gateway = await startTestGateway(await prepareGatewayCredentials(bed), flags(bed.issuer.url));
    await gatewayReady(gateway, 30_000);
    // Both resolve the claim source's issuer in the background; the first tokens fail until then.
    const warm = token(endpoint("groups=warm"));
    for (const url of [bed.apiServer?.url ?? "", gateway.url]) {
      await waitFor(
        "distributed claims resolving",
        async () => (await selfSubjectReview(url, bed.ca.certPem, warm)).status === 201,
        { timeoutMs: 30_000 },
      );
    }
  });
  after(async () => {
    await gateway?.gateway.stop();
    await bed?.stop();
  });

  const cases: [string, () => string][] = [
    ["groups from the endpoint", () => token(endpoint("groups=team-a,team-b"))],
    ["groups as a string from the endpoint", () => token(endpoint("groups=solo&string=true"))],
    [
      "a normal claim wins over the distributed one",
      () => token(endpoint("groups=distributed"), { groups: ["normal"] }),
    ],
    ["the endpoint refuses the access token", () => token(endpoint("groups=a", "wrong-token"))],
    ["the endpoint's JWT has another audience", () => token(endpoint("groups=a&aud=other-app"))],
    ["the endpoint's JWT is expired", () => token(endpoint("groups=a&expires=-60"))],
    ["the endpoint's JWT lacks the claim", () => token(endpoint("omit=true"))],
    ["an aggregated claim (JWT, no endpoint) is ignored", () => token({ JWT: "e30.e30.e30" })],
    ["a source that does not exist", () => token(undefined, { _claim_sources: { other: endpoint("groups=a") } })],
  ];
  for (const [name, mint] of cases) {
    it(name, async () => {
      const value = mint();
      const oracle = await selfSubjectReview(bed.apiServer?.url ?? "", bed.ca.certPem, value);
      assert.ok([201, 401].includes(oracle.status));
      assert.deepEqual(await selfSubjectReview(gateway.url, bed.ca.certPem, value), oracle);
    });
  }

  it("resolved groups for real, with the prefix", async () => {
    const { user } = await selfSubjectReview(gateway.url, bed.ca.certPem, token(endpoint("groups=team-a,team-b")));
    assert.deepEqual(user?.groups, ["dist:team-a", "dist:team-b", "system:authenticated"]);
  });
});
