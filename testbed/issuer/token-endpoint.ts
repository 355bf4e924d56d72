// Calls an OAuth 2.0 token endpoint (RFC 6749 §3.2) and returns the token set; shared by the
// code-flow driver, refresh, and Keycloak's password grant.
import { httpsRequest } from "../http.ts";

export interface TokenSet {
  readonly idToken: string;
  readonly accessToken: string;
  readonly refreshToken?: string;
  /** Seconds until the access token expires, as the issuer said. */
  readonly expiresIn: number;
}

export interface TokenClient {
  readonly tokenEndpoint: string;
  readonly ca: string;
  readonly clientId: string;
  /** Omit for a public client. */
  readonly clientSecret?: string;
}

export class TokenEndpointError extends Error {
  readonly status: number;
  /** The OAuth error code, e.g. `invalid_grant`. */
  readonly error: string | undefined;
  constructor(status: number, body: string) {
    let error: string | undefined;
    try {
      error = JSON.parse(body).error;
    } catch {}
    super(`token endpoint: HTTP ${status}: ${body.slice(0, 300)}`);
    this.name = "TokenEndpointError";
    this.status = status;
    this.error = error;
  }
}

export async function requestTokens(client: TokenClient, form: URLSearchParams): Promise<TokenSet> {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  if (client.clientSecret === undefined) {
    form.set("client_id", client.clientId);
  } else {
    // client_secret_basic: both parts form-urlencoded first (RFC 6749 §2.3.1).
    const basic = `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`;
    headers.authorization = `Basic ${Buffer.from(basic).toString("base64")}`;
  }
  const response = await httpsRequest(client.tokenEndpoint, {
    method: "POST",
    ca: client.ca,
    headers,
    body: form.toString(),
  });
  if (response.status !== 200) throw new TokenEndpointError(response.status, response.body);
  const json = JSON.parse(response.body) as Record<string, unknown>;
  return {
    idToken: String(json.id_token),
    accessToken: String(json.access_token),
    refreshToken: typeof json.refresh_token === "string" ? json.refresh_token : undefined,
    expiresIn: Number(json.expires_in),
  };
}

export function refreshTokens(client: TokenClient, refreshToken: string): Promise<TokenSet> {
  return requestTokens(client, new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }));
}
