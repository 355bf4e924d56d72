// The gateway as an OpenID Connect relying party, on openid-client: discovery (retried until it
// succeeds, so the gateway starts while the issuer is down), the authorization URL with PKCE,
// the code exchange with state, nonce and iss checks, refresh, and RP-initiated logout.
import * as oidc from "openid-client";
import type { SessionConfig } from "../config/session-config.ts";
import { issuerFetch } from "./issuer-fetch.ts";

export interface LoginChecks {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

export type TokenResponse = oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;

/** Whether the issuer refused a grant for good (the refresh token is dead), per RFC 6749 §5.2. */
export function isInvalidGrant(error: unknown): boolean {
  return error instanceof oidc.ResponseBodyError && error.error === "invalid_grant";
}

export class IssuerClient {
  readonly #config: SessionConfig;
  readonly #fetch: ReturnType<typeof issuerFetch>;
  #discovery: Promise<oidc.Configuration> | undefined;
  #notReadyReason: string | undefined = "discovery has not run yet";
  #retry: NodeJS.Timeout | undefined;

  constructor(config: SessionConfig) {
    this.#config = config;
    this.#fetch = issuerFetch(config.issuerCa);
  }

  get redirectUri(): string {
    return `${this.#config.externalUrl}/oauth2/callback`;
  }

  /** Undefined once discovery succeeded; else why not (readiness). */
  get notReadyReason(): string | undefined {
    return this.#notReadyReason;
  }

  get fetch(): ReturnType<typeof issuerFetch> {
    return this.#fetch;
  }

  /**
   * Discovers now, and again every `retryMs` until it succeeds: readiness waits for discovery,
   * so no request would come to retry it.
   */
  start(retryMs = 10_000, onFailure?: (error: Error) => void): void {
    this.configuration().catch((error: Error) => {
      onFailure?.(error);
      this.#retry = setTimeout(() => this.start(retryMs, onFailure), retryMs);
      this.#retry.unref();
    });
  }

  close(): void {
    clearTimeout(this.#retry);
  }

  /** The discovered configuration; a failed discovery is retried by the next caller. */
  configuration(): Promise<oidc.Configuration> {
    this.#discovery ??= (async () => {
      const { issuerUrl, clientId, clientSecret } = this.#config;
      const configuration = await oidc.discovery(
        new URL(issuerUrl),
        clientId,
        undefined,
        clientSecret === undefined ? oidc.None() : oidc.ClientSecretBasic(clientSecret),
        { [oidc.customFetch]: this.#fetch, timeout: 10 },
      );
      configuration[oidc.customFetch] = this.#fetch;
      configuration.timeout = 10;
      this.#notReadyReason = undefined;
      return configuration;
    })().catch((error: unknown) => {
      this.#discovery = undefined;
      this.#notReadyReason = `login issuer discovery failed: ${(error as Error).message}`;
      throw error;
    });
    return this.#discovery;
  }

  /** Fresh random state, nonce and PKCE verifier for one login. */
  static newLoginChecks(): LoginChecks {
    return { state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier: oidc.randomPKCECodeVerifier() };
  }

  async authorizationUrl(checks: LoginChecks): Promise<URL> {
    return oidc.buildAuthorizationUrl(await this.configuration(), {
      redirect_uri: this.redirectUri,
      scope: this.#config.scopes.join(" "),
      state: checks.state,
      nonce: checks.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(checks.codeVerifier),
      code_challenge_method: "S256",
    });
  }

  /** Exchanges the code in `callbackQuery` (the callback's query string, with its leading ?). */
  async exchange(callbackQuery: string, checks: LoginChecks): Promise<TokenResponse> {
    return oidc.authorizationCodeGrant(await this.configuration(), new URL(`${this.redirectUri}${callbackQuery}`), {
      pkceCodeVerifier: checks.codeVerifier,
      expectedState: checks.state,
      expectedNonce: checks.nonce,
      idTokenExpected: true,
    });
  }

  async refresh(refreshToken: string): Promise<TokenResponse> {
    return oidc.refreshTokenGrant(await this.configuration(), refreshToken);
  }

  /** The issuer's end-session URL for RP-initiated logout, if it has one. */
  async endSessionUrl(idTokenHint: string | undefined, postLogoutRedirectUri: string): Promise<URL | undefined> {
    const configuration = await this.configuration();
    if (!configuration.serverMetadata().end_session_endpoint) return undefined;
    return oidc.buildEndSessionUrl(configuration, {
      post_logout_redirect_uri: postLogoutRedirectUri,
      ...(idTokenHint ? { id_token_hint: idTokenHint } : {}),
    });
  }
}
