// One issuer's token check, step for step as kube-apiserver's jwtAuthenticator.AuthenticateToken
// (k8s.io/apiserver plugin/pkg/authenticator/token/oidc/oidc.go): the id token is verified as
// go-oidc does (id-token-verifier.ts), distributed claims are expanded, then the claims are mapped.
import type { CelOutput, CompiledExpression } from "../apiserver/cel.ts";
import { goBool, goString, goStringOrArray } from "../apiserver/go-json.ts";
import { verifyIdToken } from "../apiserver/id-token-verifier.ts";
import { impersonationWouldChange } from "../apiserver/impersonation-headers.ts";
import type { ParsedToken } from "../apiserver/jws.ts";
// CEL is loaded when a configuration has an expression (lazy-libraries.ts), not at start-up.
import { celLibrary } from "../config/lazy-libraries.ts";
import { DistributedClaimsResolver } from "./distributed-claims.ts";
import { AuthenticationError } from "./errors.ts";
import type { IssuerKeys, IssuerKeysEvents } from "./issuer-keys.ts";
import type { Expression, JwtAuthenticatorConfig, PrefixedClaim } from "./jwt-config.ts";
import type { UserInfo } from "./user.ts";

export interface AuthenticatedToken {
  readonly user: UserInfo;
  /** `exp` in epoch milliseconds: the identity must not be reused past it. */
  readonly expiresAt: number;
}

/**
 * A token kube-apiserver accepts, as `user`, but whose identity the gateway cannot forward by
 * impersonation without the API server changing it (impersonationWouldChange): a deliberate
 * deviation (docs/serve.md). `token` reads `user` to say what kube-apiserver would have made of it.
 */
export class UnforwardableIdentity extends AuthenticationError {
  readonly user: UserInfo;
  constructor(user: UserInfo, reason: string) {
    super(
      "UNFORWARDABLE_IDENTITY",
      `username ${JSON.stringify(user.username)} cannot be forwarded as it is: ${reason}`,
    );
    this.user = user;
  }
}

/** A claim mapping compiled once: the claim to read, or the CEL expression to run. */
type CompiledMapping = { readonly claim: string; readonly prefix: string } | { readonly program: CompiledExpression };

function compileMapping(mapping: PrefixedClaim | Expression | { claim: string }, output: CelOutput): CompiledMapping;
function compileMapping(
  mapping: PrefixedClaim | Expression | { claim: string } | undefined,
  output: CelOutput,
): CompiledMapping | undefined;
function compileMapping(
  mapping: PrefixedClaim | Expression | { claim: string } | undefined,
  output: CelOutput,
): CompiledMapping | undefined {
  if (!mapping) return undefined;
  if ("expression" in mapping) return { program: celLibrary().compileExpression(mapping.expression, "claims", output) };
  return { claim: mapping.claim, prefix: "prefix" in mapping ? mapping.prefix : "" };
}

export class JwtAuthenticator {
  readonly config: JwtAuthenticatorConfig;
  readonly keys: IssuerKeys;

  readonly #distributedClaims: DistributedClaimsResolver | undefined;
  readonly #username: CompiledMapping;
  readonly #groups: CompiledMapping | undefined;
  readonly #uid: CompiledMapping | undefined;
  readonly #extra: readonly { key: string; program: CompiledExpression }[];
  readonly #claimRules: readonly { program: CompiledExpression; message: string }[];
  readonly #userRules: readonly { program: CompiledExpression; message: string }[];
  readonly #usesCel: boolean;

  /** Compiles the configuration's CEL expressions; a bad one throws (at load, not per request). */
  constructor(config: JwtAuthenticatorConfig, keys: IssuerKeys, events?: IssuerKeysEvents) {
    this.config = config;
    this.keys = keys;
    const mappings = config.claimMappings;
    this.#username = compileMapping(mappings.username, "string");
    this.#groups = compileMapping(mappings.groups, "strings");
    this.#uid = compileMapping(mappings.uid, "string");
    this.#extra = (mappings.extra ?? []).map((e) => ({
      key: e.key,
      program: celLibrary().compileExpression(e.valueExpression, "claims", "strings"),
    }));
    this.#claimRules = (config.claimValidationExpressions ?? []).map((r) => ({
      program: celLibrary().compileExpression(r.expression, "claims", "bool"),
      message: r.message,
    }));
    this.#userRules = (config.userValidationRules ?? []).map((r) => ({
      program: celLibrary().compileExpression(r.expression, "user", "bool"),
      message: r.message,
    }));
    this.#usesCel =
      [this.#username, this.#groups, this.#uid].some((m) => m && "program" in m) ||
      this.#extra.length > 0 ||
      this.#claimRules.length > 0;
    const groupsClaim = this.#groups && "claim" in this.#groups ? this.#groups.claim : undefined;
    this.#distributedClaims = groupsClaim ? new DistributedClaimsResolver(config, groupsClaim, events) : undefined;
  }

  close(): void {
    this.keys.close();
    this.#distributedClaims?.close();
  }

  /** Whether this authenticator handles the token at all (kube-apiserver: hasCorrectIssuer). */
  handles(token: ParsedToken): boolean {
    return token.issuer === this.config.issuer.url;
  }

  async authenticate(token: ParsedToken): Promise<AuthenticatedToken> {
    const expiresAt = await verifyIdToken(token, this.keys, {
      issuerUrl: this.config.issuer.url,
      audiences: this.config.issuer.audiences,
      algorithms: this.config.signingAlgorithms,
    });
    const claims = { ...token.payload };
    await this.#distributedClaims?.expand(claims);
    const celInput = this.#usesCel ? { claims: celLibrary().claimsValue(claims) } : {};

    const user: UserInfo = {
      username: this.#mapUsername(claims, celInput),
      uid: this.#mapUid(claims, celInput),
      groups: this.#mapGroups(claims, celInput),
      extra: this.#mapExtra(claims, celInput),
    };
    for (const [claim, want] of Object.entries(this.config.requiredClaims)) {
      if (!(claim in claims)) {
        throw new AuthenticationError("REQUIRED_CLAIM", `oidc: required claim ${claim} not present in ID token`);
      }
      const got = this.#claim(claims, claim, goString, "REQUIRED_CLAIM", `oidc: parse claim ${claim}`);
      if (got !== want) {
        throw new AuthenticationError(
          "REQUIRED_CLAIM",
          `oidc: required claim ${claim} value does not match. Got = ${got}, want = ${want}`,
        );
      }
    }
    for (const rule of this.#claimRules) {
      if (this.#run(rule.program, celInput, "CLAIM_VALIDATION") !== true) {
        throw new AuthenticationError(
          "CLAIM_VALIDATION",
          `oidc: error evaluating claim validation expression: validation expression '${rule.program.expression}' failed: ${rule.message}`,
        );
      }
    }
    if (this.#userRules.length > 0) {
      const userInput = { user: celLibrary().userValue(user) };
      for (const rule of this.#userRules) {
        if (this.#run(rule.program, userInput, "USER_VALIDATION") !== true) {
          throw new AuthenticationError(
            "USER_VALIDATION",
            `oidc: error evaluating user info validation rule: validation expression '${rule.program.expression}' failed: ${rule.message}`,
          );
        }
      }
    }
    // The gateway's own check, after every one of kube-apiserver's: an identity the impersonation
    // filter would give more groups than the token (only reachable with --allow-system-identities:
    // every such username starts with system:).
    const change = impersonationWouldChange(user);
    if (change !== undefined) throw new UnforwardableIdentity(user, change);
    return { user, expiresAt };
  }

  #run(
    program: CompiledExpression,
    input: Record<string, unknown>,
    code: "CEL_MAPPING" | "CLAIM_VALIDATION" | "USER_VALIDATION",
  ): unknown {
    try {
      return program.evaluate(input);
    } catch (error) {
      throw new AuthenticationError(
        code,
        `oidc: error evaluating expression '${program.expression}': ${(error as Error).message}`,
      );
    }
  }

  #claim<T>(
    claims: Record<string, unknown>,
    name: string,
    decode: (v: unknown) => T,
    code: "USERNAME_CLAIM" | "GROUPS_CLAIM" | "UID_CLAIM" | "REQUIRED_CLAIM" | "EMAIL_NOT_VERIFIED",
    context: string,
  ): T {
    if (!(name in claims)) throw new AuthenticationError(code, `${context}: claim not present`);
    try {
      return decode(claims[name]);
    } catch (error) {
      throw new AuthenticationError(code, `${context}: ${(error as Error).message}`);
    }
  }

  #mapUsername(claims: Record<string, unknown>, celInput: Record<string, unknown>): string {
    const mapping = this.#username;
    if ("program" in mapping) {
      const value = this.#run(mapping.program, celInput, "CEL_MAPPING");
      if (typeof value !== "string") {
        throw new AuthenticationError(
          "USERNAME_CLAIM",
          "oidc: error evaluating username claim expression: username claim expression must return a string",
        );
      }
      if (value === "")
        throw new AuthenticationError("EMPTY_USERNAME", "oidc: empty username via CEL expression is not allowed");
      return value;
    }
    const { claim, prefix } = mapping;
    const username = this.#claim(
      claims,
      claim,
      goString,
      "USERNAME_CLAIM",
      `oidc: parse username claims ${JSON.stringify(claim)}`,
    );
    if (claim === "email" && "email_verified" in claims) {
      const verified = this.#claim(
        claims,
        "email_verified",
        goBool,
        "EMAIL_NOT_VERIFIED",
        "oidc: parse 'email_verified' claim",
      );
      if (!verified) throw new AuthenticationError("EMAIL_NOT_VERIFIED", "oidc: email not verified");
    }
    return prefix ? prefix + username : username;
  }

  #mapGroups(claims: Record<string, unknown>, celInput: Record<string, unknown>): string[] {
    const mapping = this.#groups;
    if (!mapping) return [];
    if ("program" in mapping) {
      try {
        return celLibrary().toStringList(this.#run(mapping.program, celInput, "CEL_MAPPING"));
      } catch (error) {
        if (error instanceof AuthenticationError) throw error;
        throw new AuthenticationError(
          "GROUPS_CLAIM",
          `oidc: error evaluating group claim expression: ${(error as Error).message}`,
        );
      }
    }
    if (!(mapping.claim in claims)) return [];
    const groups = this.#claim(
      claims,
      mapping.claim,
      goStringOrArray,
      "GROUPS_CLAIM",
      `oidc: parse groups claim ${JSON.stringify(mapping.claim)}`,
    );
    return mapping.prefix ? groups.map((g) => mapping.prefix + g) : groups;
  }

  #mapUid(claims: Record<string, unknown>, celInput: Record<string, unknown>): string | undefined {
    const mapping = this.#uid;
    if (!mapping) return undefined;
    if ("program" in mapping) {
      const value = this.#run(mapping.program, celInput, "CEL_MAPPING");
      if (typeof value !== "string") {
        throw new AuthenticationError(
          "UID_CLAIM",
          "oidc: error evaluating uid claim expression: uid claim expression must return a string",
        );
      }
      return value || undefined;
    }
    return (
      this.#claim(
        claims,
        mapping.claim,
        goString,
        "UID_CLAIM",
        `oidc: parse uid claim ${JSON.stringify(mapping.claim)}`,
      ) || undefined
    );
  }

  #mapExtra(claims: Record<string, unknown>, celInput: Record<string, unknown>): Record<string, string[]> {
    // authentication.kubernetes.io/credential-id, k8s.io/apiserver pkg/authentication/token/jwt.
    const jti = claims.jti;
    const extra: Record<string, string[]> =
      typeof jti === "string" && jti !== "" ? { "authentication.kubernetes.io/credential-id": [`JTI=${jti}`] } : {};
    for (const { key, program } of this.#extra) {
      let values: string[];
      try {
        values = celLibrary().toStringList(this.#run(program, celInput, "CEL_MAPPING"));
      } catch (error) {
        if (error instanceof AuthenticationError) throw error;
        throw new AuthenticationError(
          "CEL_MAPPING",
          `oidc: error evaluating extra claim expression: ${program.expression}: ${(error as Error).message}`,
        );
      }
      if (values.length > 0) extra[key] = values;
    }
    return extra;
  }
}
