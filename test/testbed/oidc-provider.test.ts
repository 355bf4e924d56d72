import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, jwtVerify } from "jose";
import { TestCA } from "../../testbed/ca.ts";
import { httpsRequest } from "../../testbed/http.ts";
import { loginWithCodeFlow } from "../../testbed/issuer/code-flow.ts";
import { clients, defaultRedirectUri, type OidcIssuer, startOidcIssuer } from "../../testbed/issuer/oidc-provider.ts";
import { refreshTokens } from "../../testbed/issuer/token-endpoint.ts";
import { findUser } from "../../testbed/issuer/users.ts";

describe("test bed issuer (oidc-provider)", () => {
  let ca: TestCA;
  let issuer: OidcIssuer;
  let jwks: ReturnType<typeof createLocalJWKSet>;
  let servedKeys: JSONWebKeySet;

  before(async () => {
    ca = await TestCA.create();
    issuer = await startOidcIssuer({ tls: await ca.issueLoopbackServer("oidc-provider") });
    const response = await httpsRequest(`${issuer.url}/jwks`, { ca: ca.certPem });
    servedKeys = JSON.parse(response.body) as JSONWebKeySet;
    jwks = createLocalJWKSet(servedKeys);
  });
  after(() => issuer.close());

  const login = (username: string, client: { id: string; secret?: string } = clients.kubernetes) =>
    loginWithCodeFlow({
      issuerUrl: issuer.url,
      ca: ca.certPem,
      username,
      password: findUser(username)?.password ?? "",
      clientId: client.id,
      clientSecret: client.secret,
    });

  it("publishes discovery for code + PKCE + refresh at its https URL", async () => {
    const response = await httpsRequest(`${issuer.url}/.well-known/openid-configuration`, { ca: ca.certPem });
    assert.equal(response.status, 200);
    const discovery = JSON.parse(response.body);
    assert.equal(discovery.issuer, issuer.url);
    assert.match(issuer.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(discovery.jwks_uri, `${issuer.url}/jwks`);
    assert.deepEqual(discovery.code_challenge_methods_supported, ["S256"]);
    assert.ok(discovery.grant_types_supported.includes("refresh_token"));
  });

  it("serves only the public halves of its published keys", () => {
    const kids = servedKeys.keys.map((k) => k.kid).sort();
    assert.deepEqual(kids, issuer.keys.published.map((k) => k.kid).sort());
    for (const key of servedKeys.keys) assert.equal(key.d, undefined, `private part of ${key.kid} served`);
  });

  it("is reachable only by clients that trust the bed's CA", async () => {
    await assert.rejects(httpsRequest(`${issuer.url}/jwks`, { ca: (await TestCA.create()).certPem }), {
      code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    });
  });

  it("issues a signed id token with email and groups through the code flow", async () => {
    const tokens = await login("jane");
    const { payload, protectedHeader } = await jwtVerify(tokens.idToken, jwks, {
      issuer: issuer.url,
      audience: clients.kubernetes.id,
    });
    assert.equal(protectedHeader.alg, "RS256");
    assert.equal(payload.sub, "jane-0001");
    assert.equal(payload.email, "jane@example.com");
    assert.equal(payload.email_verified, true);
    assert.deepEqual(payload.groups, ["developers", "viewers"]);
    assert.ok(tokens.refreshToken, "no refresh token");
  });

  it("keeps each user's quirks: groups as a string, an unverified email", async () => {
    assert.equal(decodeJwt((await login("carol")).idToken).groups, "operators");
    assert.equal(decodeJwt((await login("bob")).idToken).email_verified, false);
  });

  it("gives another client's tokens that client's audience", async () => {
    const { idToken } = await login("jane", clients.otherApp);
    assert.equal(decodeJwt(idToken).aud, clients.otherApp.id);
  });

  it("logs a public client in with PKCE alone", async () => {
    const { idToken } = await login("jane", clients.dashboard);
    assert.equal(decodeJwt(idToken).aud, clients.dashboard.id);
  });

  it("refuses a wrong password", async () => {
    await assert.rejects(
      loginWithCodeFlow({ issuerUrl: issuer.url, ca: ca.certPem, username: "jane", password: "nope" }),
      /refused the login/,
    );
  });

  it("refuses an authorization request without PKCE", async () => {
    const url = new URL(`${issuer.url}/auth`);
    url.search = new URLSearchParams({
      client_id: clients.kubernetes.id,
      response_type: "code",
      redirect_uri: defaultRedirectUri,
      scope: "openid",
    }).toString();
    const response = await httpsRequest(url, { ca: ca.certPem });
    const location = new URL(String(response.headers.location));
    assert.equal(location.searchParams.get("error"), "invalid_request");
    assert.match(location.searchParams.get("error_description") ?? "", /requires PKCE/);
  });

  it("refreshes a session into a new, valid id token", async () => {
    const tokens = await login("jane");
    const refreshed = await refreshTokens(
      {
        tokenEndpoint: `${issuer.url}/token`,
        ca: ca.certPem,
        clientId: clients.kubernetes.id,
        clientSecret: clients.kubernetes.secret,
      },
      tokens.refreshToken ?? "",
    );
    assert.notEqual(refreshed.accessToken, tokens.accessToken);
    const { payload } = await jwtVerify(refreshed.idToken, jwks, { issuer: issuer.url, audience: "kubernetes" });
    assert.equal(payload.sub, "jane-0001");
  });
});
