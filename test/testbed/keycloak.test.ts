// Keycloak in the test bed: its tokens' quirks, and the API server's own authenticator trusting
// Keycloak and oidc-provider at once.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { decodeJwt } from "jose";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import { TokenEndpointError } from "../../testbed/issuer/token-endpoint.ts";
import { keycloakClients, keycloakClusterAudience } from "../../testbed/keycloak/keycloak.ts";
import { keycloakRefresh } from "../../testbed/keycloak/tokens.ts";
import {
  expectUnauthorized as expectUnauthorizedOf,
  portIsClosed,
  whoami as whoamiOf,
} from "../helpers/kubectl-identity.ts";

/** Java processes whose command line names this bed's folder. */
function javaProcessesOf(dir: string): string[] {
  const out = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return out.split("\n").filter((line) => line.includes("java") && line.includes(dir));
}

describe("test bed Keycloak", { timeout: 600_000 }, () => {
  let bed: TestBed;
  let stopped = false;

  before(async () => {
    bed = await startTestBed({ keycloak: true, log: (line) => process.stderr.write(`${line}\n`) });
  });
  after(async () => {
    if (!stopped) await bed?.stop();
  });

  const keycloak = () => {
    assert.ok(bed.keycloak, "Keycloak did not start");
    return bed.keycloak;
  };
  const whoami = (token: string) => whoamiOf(bed, token);
  const expectUnauthorized = (token: string) => expectUnauthorizedOf(bed, token);

  it("issues id tokens with Keycloak's quirks", async () => {
    const tokens = await bed.keycloakLogin("testuser");
    const id = decodeJwt(tokens.idToken);
    assert.equal(id.iss, keycloak().issuerUrl);
    assert.equal(typeof id.jti, "string", "Keycloak puts a jti on every token");
    assert.deepEqual(id.aud, [keycloakClients.gateway.id, keycloakClusterAudience]);
    assert.equal(id.azp, keycloakClients.gateway.id);
    assert.equal(id.preferred_username, "testuser");
    assert.equal(id.email_verified, true);
    assert.deepEqual(id.groups, ["developers"]);
    // 5-minute tokens by default, as in the incident. Keycloak reads the clock for iat and for exp
    // separately, so a second boundary between the two reads gives 299 (seen once in CI).
    const lifetime = (id.exp ?? 0) - (id.iat ?? 0);
    assert.ok(lifetime === 300 || lifetime === 299, `5-minute tokens by default, got ${lifetime} s`);
    const access = decodeJwt(tokens.accessToken);
    assert.equal(access.typ, "Bearer");
    assert.ok(
      ![access.aud ?? []].flat().includes(keycloakClusterAudience),
      "access token must not carry the cluster audience",
    );
    const other = decodeJwt((await bed.keycloakLogin("nogroups")).idToken);
    assert.equal(other.email_verified, false);
    assert.deepEqual(other.groups ?? [], []);
  });

  it("is trusted by the API server next to oidc-provider: kubectl auth whoami", async () => {
    const { idToken } = await bed.keycloakLogin("testuser");
    const { userInfo, stderr } = await whoami(idToken);
    assert.ok(userInfo, stderr);
    assert.equal(userInfo.username, "keycloak:testuser");
    assert.deepEqual(userInfo.groups, ["keycloak:developers", "system:authenticated"]);
    assert.deepEqual(userInfo.extra?.["authentication.kubernetes.io/credential-id"], [`JTI=${decodeJwt(idToken).jti}`]);

    const jane = await whoami((await bed.login("jane")).idToken);
    assert.equal(jane.userInfo?.username, "jane@example.com", jane.stderr);
  });

  it("sends full group paths when the mapper says so", async () => {
    await keycloak().admin.setFullGroupPath(keycloakClients.gateway.id, true);
    try {
      const { idToken } = await bed.keycloakLogin("testuser");
      assert.deepEqual(decodeJwt(idToken).groups, ["/developers"]);
      const { userInfo, stderr } = await whoami(idToken);
      assert.ok(userInfo, stderr);
      assert.deepEqual(userInfo.groups, ["keycloak:/developers", "system:authenticated"]);
    } finally {
      await keycloak().admin.setFullGroupPath(keycloakClients.gateway.id, false);
    }
  });

  it("refuses the access token: its audience is not the cluster's", async () => {
    const { accessToken } = await bed.keycloakLogin("testuser");
    await expectUnauthorized(accessToken);
  });

  it("applies a shorter access token lifespan to the next token", async () => {
    await keycloak().admin.setAccessTokenLifespan(120);
    try {
      const { idToken, expiresIn } = await bed.keycloakLogin("testuser");
      const claims = decodeJwt(idToken);
      assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 120);
      // expires_in counts from the response, so a second may already have passed.
      assert.ok(expiresIn >= 118 && expiresIn <= 120, `expires_in ${expiresIn}`);
    } finally {
      await keycloak().admin.setAccessTokenLifespan(300);
    }
  });

  it("refuses an expired Keycloak id token", async () => {
    await keycloak().admin.setAccessTokenLifespan(2);
    let idToken: string;
    try {
      ({ idToken } = await bed.keycloakLogin("testuser"));
    } finally {
      await keycloak().admin.setAccessTokenLifespan(300);
    }
    const exp = decodeJwt(idToken).exp ?? 0;
    await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 1100));
    await expectUnauthorized(idToken);
  });

  it("refreshes tokens, and rotates refresh tokens when revoke refresh token is on", async () => {
    const realm = { issuerUrl: keycloak().issuerUrl, ca: bed.ca.certPem };
    const first = await bed.keycloakLogin("testuser");
    const refreshed = await keycloakRefresh(realm, first.refreshToken ?? "");
    assert.equal(decodeJwt(refreshed.idToken).preferred_username, "testuser");

    await keycloak().admin.setRevokeRefreshToken(true);
    try {
      const session = await bed.keycloakLogin("testuser");
      const rotated = await keycloakRefresh(realm, session.refreshToken ?? "");
      assert.notEqual(rotated.refreshToken, session.refreshToken);
      await assert.rejects(keycloakRefresh(realm, session.refreshToken ?? ""), (error: unknown) => {
        assert.ok(error instanceof TokenEndpointError);
        assert.equal(error.error, "invalid_grant");
        return true;
      });
    } finally {
      await keycloak().admin.setRevokeRefreshToken(false);
    }
  });

  it("ends a user's sessions through the admin API: refresh then fails", async () => {
    const realm = { issuerUrl: keycloak().issuerUrl, ca: bed.ca.certPem };
    const session = await bed.keycloakLogin("testuser");
    await keycloak().admin.endSessions("testuser");
    await assert.rejects(keycloakRefresh(realm, session.refreshToken ?? ""), (error: unknown) => {
      assert.ok(error instanceof TokenEndpointError);
      assert.equal(error.error, "invalid_grant");
      return true;
    });
  });

  it("stops cleanly: no Java process, port or folder left", async () => {
    const { ports } = keycloak();
    const { dir } = bed;
    assert.ok(javaProcessesOf(dir).length > 0, "Keycloak's JVM was not found while running");
    await bed.stop();
    stopped = true;
    assert.deepEqual(javaProcessesOf(dir), []);
    for (const port of ports) assert.ok(await portIsClosed(port), `port ${port} still open`);
    assert.equal(existsSync(dir), false, `${dir} left behind`);
  });
});
