// A real, certified OpenID Provider (panva's oidc-provider) serving over HTTPS on loopback with
// the test bed's CA. It speaks the authorization code flow with PKCE and refresh tokens; its
// login page is a plain form so a person can use it in a browser and `code-flow.ts` can drive
// it without one.
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import Provider, { type ClientMetadata, type Configuration } from "oidc-provider";
import { createMemoryAdapter } from "oidc-provider/lib/adapters/memory_adapter.js";
import type { KeyPairPem } from "../ca.ts";
import { generateIssuerKeys, type IssuerKeys } from "./keys.ts";
import { mintJwt } from "./raw-signer.ts";
import { findUser, findUserBySub, type TestUser } from "./users.ts";

/** Client ids registered at every test-bed issuer. */
export const clients = {
  /** Confidential client whose id tokens the API server accepts (the audience). */
  kubernetes: { id: "kubernetes", secret: "kubernetes-client-secret" },
  /** Public browser client (PKCE required): dashboards log in through it. */
  dashboard: { id: "dashboard" },
  /** Another confidential client: its genuine id tokens carry the wrong audience. */
  otherApp: { id: "other-app", secret: "other-app-client-secret" },
} as const;

export const defaultRedirectUri = "http://127.0.0.1/callback";

export interface OidcIssuerOptions {
  readonly tls: KeyPairPem;
  /** Extra redirect URIs for every client (e.g. a gateway's callback). */
  readonly redirectUris?: readonly string[];
  /** Where RP-initiated logout may send the browser back to, for every client. */
  readonly postLogoutRedirectUris?: readonly string[];
  /** A fixed port (e.g. an issuer that "comes back" where clients expect it); default: a free one. */
  readonly port?: number;
  /** Id token lifetime in seconds (default 600). */
  readonly idTokenTtlSeconds?: number;
}

export interface OidcIssuer {
  readonly url: string;
  readonly keys: IssuerKeys;
  readonly provider: Provider;
  close(): Promise<void>;
}

function accountClaims(user: TestUser) {
  return {
    sub: user.sub,
    email: user.email,
    email_verified: user.emailVerified,
    groups: user.groups,
    name: user.name,
    preferred_username: user.username,
  };
}

export async function startOidcIssuer(options: OidcIssuerOptions): Promise<OidcIssuer> {
  // The issuer URL must contain the port, so listen first and attach the handler after.
  let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const server = https.createServer({ key: options.tls.keyPem, cert: options.tls.certPem }, (req, res) =>
    handle(req, res),
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `https://127.0.0.1:${port}`;
  const keys = generateIssuerKeys();
  const redirectUris = [defaultRedirectUri, ...(options.redirectUris ?? [])];
  const provider = new Provider(
    url,
    configuration(keys, redirectUris, options.postLogoutRedirectUris ?? [], options.idTokenTtlSeconds ?? 600),
  );
  const providerHandler = provider.callback();
  handle = (req, res) => {
    if (req.url?.startsWith("/distributed-claims")) {
      serveDistributedClaims(url, keys, req, res);
      return;
    }
    if (req.url?.startsWith("/interaction/")) {
      handleInteraction(provider, req, res).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(`interaction failed: ${error instanceof Error ? error.message : String(error)}`);
      });
      return;
    }
    providerHandler(req, res);
  };
  return {
    url,
    keys,
    provider,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function configuration(
  keys: IssuerKeys,
  redirectUris: string[],
  postLogoutRedirectUris: readonly string[],
  idTokenTtl: number,
): Configuration {
  const confidential = (client: { id: string; secret: string }): ClientMetadata => ({
    client_id: client.id,
    client_secret: client.secret,
    redirect_uris: redirectUris,
    post_logout_redirect_uris: [...postLogoutRedirectUris],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
  });
  return {
    adapter: createMemoryAdapter(),
    clients: [
      confidential(clients.kubernetes),
      confidential(clients.otherApp),
      {
        client_id: clients.dashboard.id,
        redirect_uris: redirectUris,
        post_logout_redirect_uris: [...postLogoutRedirectUris],
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        token_endpoint_auth_method: "none",
      } satisfies ClientMetadata,
    ],
    jwks: { keys: keys.published.map((k) => k.privateJwk) },
    enabledJWA: {
      idTokenSigningAlgValues: ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "ES512", "Ed25519"],
    },
    findAccount: (_ctx: unknown, sub: string) => {
      const user = findUserBySub(sub);
      return user ? { accountId: sub, claims: () => accountClaims(user) } : undefined;
    },
    claims: {
      openid: ["sub"],
      email: ["email", "email_verified"],
      profile: ["name", "preferred_username"],
      groups: ["groups"],
    },
    scopes: ["openid", "offline_access", "email", "profile", "groups"],
    // Put the scope-granted claims into the id token itself, as Keycloak and Dex do: the API
    // server only ever sees the id token.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    ttl: {
      IdToken: idTokenTtl,
      AccessToken: idTokenTtl,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      RefreshToken: 24 * 3600,
    },
  };
}

/** The access token a distributed-claims source must present (see serveDistributedClaims). */
export const distributedClaimsAccessToken = "bed-distributed-claims-token";

/**
 * A distributed claims endpoint (OIDC core §5.6.2) for tests: answers a JWT signed with the
 * issuer's key carrying `groups`. Query: groups=a,b (string=true: one string), aud (default
 * kubernetes), expires (seconds from now, default 300), omit=true (no groups claim).
 */
function serveDistributedClaims(issuer: string, keys: IssuerKeys, req: IncomingMessage, res: ServerResponse): void {
  if (req.headers.authorization !== `Bearer ${distributedClaimsAccessToken}`) {
    res.statusCode = 401;
    res.end();
    return;
  }
  const query = new URL(req.url ?? "/", issuer).searchParams;
  const groups = (query.get("groups") ?? "").split(",").filter(Boolean);
  const claims: Record<string, unknown> = {
    iss: issuer,
    aud: query.get("aud") ?? clients.kubernetes.id,
    sub: "distributed",
    exp: Math.floor(Date.now() / 1000) + Number(query.get("expires") ?? 300),
  };
  if (query.get("omit") !== "true") claims.groups = query.get("string") === "true" ? groups[0] : groups;
  const key = keys.published.find((k) => k.kid === "rsa-1");
  res.setHeader("content-type", "application/jwt");
  res.end(mintJwt({ alg: "RS256", key, claims }));
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

// GET /interaction/:uid shows a login form; POST /interaction/:uid/login checks the password,
// records the login and grants the requested scopes (the bed's clients are first-party, so
// consent is implied) and hands control back to the provider.
async function handleInteraction(provider: Provider, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (req.method === "GET") {
    res.setHeader("content-type", "text/html; charset=utf-8");
    res.end(loginPage(details.uid));
    return;
  }
  if (req.method !== "POST" || !req.url?.endsWith("/login")) {
    res.statusCode = 405;
    res.end();
    return;
  }
  const form = await readForm(req);
  const user = findUser(form.get("username") ?? "");
  if (!user || user.password !== form.get("password")) {
    res.statusCode = 401;
    res.setHeader("content-type", "text/html; charset=utf-8");
    res.end(loginPage(details.uid, "Unknown user or wrong password."));
    return;
  }
  const clientId = String(details.params.client_id);
  const grant = new provider.Grant({ accountId: user.sub, clientId });
  grant.addOIDCScope(String(details.params.scope ?? "openid"));
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: user.sub }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

function loginPage(uid: string, error?: string): string {
  const action = `/interaction/${encodeURIComponent(uid)}/login`;
  return `<!doctype html><html><head><title>Test bed login</title></head><body>
<h1>kube-oidc-gateway test bed issuer</h1>
${error ? `<p role="alert">${escapeHtml(error)}</p>` : ""}
<form method="post" action="${escapeHtml(action)}">
<label>Username <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button>
</form></body></html>`;
}
