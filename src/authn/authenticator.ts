// The gateway's authenticator: the configured JWT issuers tried by `iss` (kube-apiserver's
// union of token authenticators), a result cache, and the gateway's own policy on top:
// an empty username or a system: identity from a token is refused.

import { parseToken } from "../apiserver/jws.ts";
import { AuthenticationError } from "./errors.ts";
import { IssuerKeys, type IssuerKeysEvents } from "./issuer-keys.ts";
import { type AuthenticatedToken, JwtAuthenticator } from "./jwt-authenticator.ts";
import type { JwtAuthenticatorConfig } from "./jwt-config.ts";
import { TokenCache } from "./token-cache.ts";
import type { UserInfo } from "./user.ts";

export interface AuthenticatorOptions {
  readonly jwt: readonly JwtAuthenticatorConfig[];
  readonly allowSystemIdentities: boolean;
  readonly tokenCacheTtlMs: number;
  readonly events?: IssuerKeysEvents;
}

export class Authenticator {
  readonly #issuers: JwtAuthenticator[];
  readonly #cache: TokenCache;
  readonly #allowSystemIdentities: boolean;

  constructor(options: AuthenticatorOptions) {
    this.#issuers = options.jwt.map(
      (config) => new JwtAuthenticator(config, new IssuerKeys(config, options.events), options.events),
    );
    this.#cache = new TokenCache(options.tokenCacheTtlMs);
    this.#allowSystemIdentities = options.allowSystemIdentities;
  }

  start(): void {
    for (const issuer of this.#issuers) issuer.keys.start();
  }

  close(): void {
    for (const issuer of this.#issuers) issuer.close();
  }

  /** Issuers whose discovery has not succeeded yet, with the reason; empty when ready. */
  notReady(): { issuer: string; reason: string }[] {
    return this.#issuers
      .filter((i) => i.keys.notReadyReason)
      .map((i) => ({ issuer: i.config.issuer.url, reason: i.keys.notReadyReason?.message ?? "" }));
  }

  /** The identity `token` stands for, or an AuthenticationError saying why it does not. */
  async authenticate(token: string): Promise<AuthenticatedToken & { cached: boolean }> {
    const key = TokenCache.key(token);
    const cached = this.#cache.get(key);
    if (cached) return { ...cached, cached: true };

    const parsed = parseToken(token);
    const issuer = parsed && this.#issuers.find((i) => i.handles(parsed));
    if (!parsed || !issuer) {
      throw new AuthenticationError(
        parsed ? "UNKNOWN_ISSUER" : "MALFORMED",
        parsed ? `no authenticator for issuer ${JSON.stringify(parsed.issuer)}` : "not a JWT this gateway can read",
      );
    }
    const result = await issuer.authenticate(parsed);
    const refusal = gatewayPolicyRefusal(result.user, this.#allowSystemIdentities);
    if (refusal) throw refusal;
    this.#cache.set(key, result);
    return { ...result, cached: false };
  }
}

/**
 * The gateway's own rule on top of kube-apiserver's decision, or undefined when the identity
 * passes. `token` and `doctor` call it too, to show where the gateway and the API server differ.
 */
export function gatewayPolicyRefusal(user: UserInfo, allowSystemIdentities: boolean): AuthenticationError | undefined {
  // kube-apiserver would accept an empty username, but an empty Impersonate-User means "no
  // impersonation": the request would run as the gateway itself.
  if (user.username === "") return new AuthenticationError("EMPTY_USERNAME", "the token maps to an empty username");
  if (allowSystemIdentities) return undefined;
  if (user.username.startsWith("system:")) {
    return new AuthenticationError(
      "SYSTEM_IDENTITY",
      `username ${JSON.stringify(user.username)} uses the reserved system: prefix`,
    );
  }
  const group = user.groups.find((g) => g.startsWith("system:"));
  return group === undefined
    ? undefined
    : new AuthenticationError("SYSTEM_IDENTITY", `group ${JSON.stringify(group)} uses the reserved system: prefix`);
}
