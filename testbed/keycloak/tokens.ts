// Tokens from the bed's Keycloak realm without a browser: the password grant (direct access
// grants are on for the gateway's client in realm.json) and refresh.
import { refreshTokens, requestTokens, type TokenClient, type TokenSet } from "../issuer/token-endpoint.ts";
import { keycloakClients } from "./keycloak.ts";

export interface KeycloakTokenClient {
  readonly issuerUrl: string;
  readonly ca: string;
}

function tokenClient({ issuerUrl, ca }: KeycloakTokenClient): TokenClient {
  return {
    tokenEndpoint: `${issuerUrl}/protocol/openid-connect/token`,
    ca,
    clientId: keycloakClients.gateway.id,
    clientSecret: keycloakClients.gateway.secret,
  };
}

/** An id token (and access and refresh tokens) for a realm user, by password grant. */
export function keycloakPasswordGrant(
  realm: KeycloakTokenClient,
  user: { username: string; password: string },
): Promise<TokenSet> {
  return requestTokens(
    tokenClient(realm),
    new URLSearchParams({ grant_type: "password", username: user.username, password: user.password, scope: "openid" }),
  );
}

export function keycloakRefresh(realm: KeycloakTokenClient, refreshToken: string): Promise<TokenSet> {
  return refreshTokens(tokenClient(realm), refreshToken);
}
