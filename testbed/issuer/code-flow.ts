// Drives a test-bed issuer's authorization code flow with PKCE the way a browser would
// (redirects, cookies, the login form), without a browser, so tests can get real id tokens.
import { createHash, randomBytes } from "node:crypto";
import { type HttpResponse, httpsRequest } from "../http.ts";
import { clients, defaultRedirectUri } from "./oidc-provider.ts";
import { requestTokens, type TokenSet } from "./token-endpoint.ts";

export type { TokenSet } from "./token-endpoint.ts";

export interface CodeFlowOptions {
  readonly issuerUrl: string;
  readonly ca: string;
  readonly username: string;
  readonly password: string;
  readonly clientId?: string;
  /** Omit for a public client. */
  readonly clientSecret?: string;
  readonly scope?: string;
  readonly redirectUri?: string;
}

class CookieJar {
  readonly #cookies = new Map<string, string>();
  store(response: HttpResponse): void {
    const setCookie = response.headers["set-cookie"];
    for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq > 0) this.#cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }
  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

function location(response: HttpResponse, base: string): URL {
  const value = response.headers.location;
  if (typeof value !== "string") {
    throw new Error(`expected a redirect, got HTTP ${response.status}: ${response.body.slice(0, 300)}`);
  }
  return new URL(value, base);
}

/** Logs `username` in through the real code + PKCE flow and returns the issued tokens. */
export async function loginWithCodeFlow(options: CodeFlowOptions): Promise<TokenSet> {
  const clientId = options.clientId ?? clients.kubernetes.id;
  const redirectUri = options.redirectUri ?? defaultRedirectUri;
  const verifier = randomBytes(32).toString("base64url");
  const state = randomBytes(16).toString("base64url");
  const jar = new CookieJar();
  const get = async (url: URL) => {
    const response = await httpsRequest(url, { ca: options.ca, headers: { cookie: jar.header() } });
    jar.store(response);
    return response;
  };

  const authorize = new URL(`${options.issuerUrl}/auth`);
  authorize.search = new URLSearchParams({
    client_id: clientId,
    response_type: "code",
    redirect_uri: redirectUri,
    scope: options.scope ?? "openid email profile groups offline_access",
    state,
    nonce: randomBytes(16).toString("base64url"),
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
    prompt: "consent",
  }).toString();
  const interaction = location(await get(authorize), options.issuerUrl);

  const login = await httpsRequest(new URL(`${interaction.pathname}/login`, options.issuerUrl), {
    method: "POST",
    ca: options.ca,
    headers: { cookie: jar.header(), "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ username: options.username, password: options.password }).toString(),
  });
  if (login.status === 401) throw new Error(`issuer refused the login of ${JSON.stringify(options.username)}`);
  jar.store(login);

  // Follow the provider's redirects until it sends the browser back to the client.
  let next = location(login, options.issuerUrl);
  for (let hop = 0; !next.href.startsWith(redirectUri); hop++) {
    if (hop > 5) throw new Error(`too many redirects in the code flow (last: ${next.pathname})`);
    next = location(await get(next), options.issuerUrl);
  }
  const error = next.searchParams.get("error");
  if (error) throw new Error(`authorization failed: ${error}: ${next.searchParams.get("error_description")}`);
  if (next.searchParams.get("state") !== state) throw new Error("authorization response state mismatch");
  const code = next.searchParams.get("code");
  if (!code) throw new Error(`authorization response without a code: ${next.href}`);

  return requestTokens(
    { tokenEndpoint: `${options.issuerUrl}/token`, ca: options.ca, clientId, clientSecret: options.clientSecret },
    new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: redirectUri, code_verifier: verifier }),
  );
}
