// What to do about a refused token. The authenticator's messages are kube-apiserver's own (so
// logs can be compared line for line); this adds, per failure code, the name of the check that
// failed and the fix, using the token's claims and the configuration to be specific.
// `token` prints it, `doctor` turns it into a check's fix.
import type { AuthenticationFailure } from "./errors.ts";
import type { JwtAuthenticatorConfig } from "./jwt-config.ts";

export interface RefusalAdvice {
  /** The check that refused the token, in a few words. */
  readonly check: string;
  readonly fix: string;
}

interface Context {
  readonly claims?: Readonly<Record<string, unknown>>;
  readonly config?: JwtAuthenticatorConfig;
  /** Issuer URLs configured, for tokens no authenticator handles. */
  readonly issuers?: readonly string[];
}

const json = (value: unknown) => JSON.stringify(value);

function claimName(mapping: JwtAuthenticatorConfig["claimMappings"]["username"] | undefined): string | undefined {
  return mapping && "claim" in mapping ? mapping.claim : undefined;
}

/** String-valued claims a username could come from instead, for USERNAME_CLAIM advice. */
function usernameCandidates(claims: Readonly<Record<string, unknown>> | undefined): string {
  const names = ["email", "preferred_username", "sub", "upn", "name"].filter(
    (name) => typeof claims?.[name] === "string",
  );
  return names.length > 0 ? ` (this token has ${names.join(", ")})` : "";
}

/** A configured issuer that differs from `iss` only in a way people miss (kube-apiserver compares exactly). */
export function issuerNearMiss(iss: string, configured: readonly string[]): string | undefined {
  const normalise = (url: string) => url.replace(/\/+$/, "").toLowerCase();
  return configured.find((url) => url !== iss && normalise(url) === normalise(iss));
}

export function adviseOnRefusal(code: AuthenticationFailure, context: Context = {}): RefusalAdvice {
  const { claims, config } = context;
  const iss = claims?.iss;
  const audiences = config?.issuer.audiences ?? [];
  switch (code) {
    case "NO_TOKEN":
      return { check: "token present", fix: "send the id token as `Authorization: Bearer <token>`" };
    case "MALFORMED":
      return {
        check: "token format",
        fix: "pass the OIDC id_token (a signed JWT with three parts), not an opaque access token, a refresh token or a session cookie",
      };
    case "UNKNOWN_ISSUER": {
      const near = typeof iss === "string" ? issuerNearMiss(iss, context.issuers ?? []) : undefined;
      return {
        check: "issuer (iss)",
        fix: near
          ? `the token's iss ${json(iss)} and the configured ${json(near)} differ only by case or a trailing slash, and the comparison is exact: set the issuer URL to exactly ${json(iss)} (or fix the issuer's hostname/frontend URL setting)`
          : `no authenticator is configured for iss ${json(iss)}; configured: ${json(context.issuers ?? [])}. Configure --oidc-issuer-url (or a jwt entry) with exactly this URL, or get the token from the configured issuer`,
      };
    }
    case "ISSUER_NOT_READY":
      return {
        check: "issuer discovery and keys",
        fix: "the issuer's discovery document or JWKS could not be fetched: check that the issuer URL answers from here, that --oidc-ca-file (certificateAuthority) holds the CA that signed the issuer's certificate, and that the discovery document's `issuer` equals the configured URL exactly",
      };
    case "UNSUPPORTED_ALG":
      return {
        check: "signing algorithm",
        fix: `allow the token's algorithm with --oidc-signing-algs (allowed now: ${json(config?.signingAlgorithms ?? ["RS256"])}), or make the issuer sign id tokens with one of them (Keycloak: client → Advanced → ID token signature algorithm)`,
      };
    case "BAD_SIGNATURE":
      return {
        check: "signature",
        fix: "no key the issuer publishes verifies this token: it was issued by another issuer or realm with the same URL, its key was removed from the JWKS, or it was altered. Log in again to get a fresh token",
      };
    case "BAD_CLAIMS":
      return {
        check: "claims format",
        fix: "the payload's registered claims have the wrong types (iss, aud, exp, nbf must be a string, a string or list, and numbers); fix the issuer's token mappers",
      };
    case "WRONG_ISSUER":
      return {
        check: "issuer (iss)",
        fix: `the token's iss ${json(iss)} differs from the configured issuer ${json(config?.issuer.url)}; they must be byte-for-byte equal, trailing slash included`,
      };
    case "WRONG_AUDIENCE":
      return {
        check: "audience (aud)",
        fix: `the token's aud ${json(claims?.aud)} holds none of ${json(audiences)}. Use the id token of the client that is configured as --oidc-client-id (access tokens carry other audiences), or add an audience mapper for ${json(audiences[0])} at the issuer (Keycloak: client scopes → dedicated scope → Add mapper → Audience)`,
      };
    case "EXPIRED":
      return {
        check: "expiry (exp)",
        fix: "the token has expired: log in again or refresh it. If this happens to a dashboard, its refresh runs later than the token's lifetime; refresh before `exp` (the gateway's sessions refresh ahead of expiry)",
      };
    case "NOT_YET_VALID":
      return {
        check: "not before (nbf)",
        fix: "the token is not valid yet: this machine's clock or the issuer's is behind by more than a minute; synchronise both with NTP",
      };
    case "USERNAME_CLAIM": {
      const claim = claimName(config?.claimMappings.username) ?? "sub";
      return {
        check: "username claim",
        fix: `the username claim ${json(claim)} is missing or not a string${usernameCandidates(claims)}: set --oidc-username-claim to a claim the token has, or add a mapper at the issuer`,
      };
    }
    case "EMAIL_NOT_VERIFIED":
      return {
        check: "email_verified",
        fix: "the username comes from `email`, and kube-apiserver then requires email_verified to be true: verify the user's email at the issuer, or use another username claim (e.g. --oidc-username-claim=preferred_username with a prefix)",
      };
    case "GROUPS_CLAIM":
      return {
        check: "groups claim",
        fix: `the groups claim ${json(claimName(config?.claimMappings.groups))} is neither a string nor a list of strings; fix the issuer's mapper (Keycloak: "Group Membership" mapper, multivalued)`,
      };
    case "UID_CLAIM":
      return {
        check: "uid claim",
        fix: "the uid claim is missing or not a string; map uid from a claim every token has, such as sub",
      };
    case "REQUIRED_CLAIM":
      return {
        check: "required claims",
        fix: `the token lacks a required claim value (required: ${json(config?.requiredClaims ?? {})}); add the claim at the issuer or remove the requirement`,
      };
    case "DISTRIBUTED_CLAIM":
      return {
        check: "distributed claims",
        fix: "the groups claim points to a distributed claims endpoint that could not be read; make the endpoint reachable and trusted, or put the groups into the token",
      };
    case "EMPTY_USERNAME":
      return {
        check: "non-empty username",
        fix: "the mapping gives an empty username; requests would run without an identity. Map the username from a claim that is never empty",
      };
    case "SYSTEM_IDENTITY":
      return {
        check: "no system: identities",
        fix: "the username or a group starts with system:, which is reserved for Kubernetes' own identities; set a username/groups prefix such as oidc: (the gateway allows it only with --allow-system-identities)",
      };
    case "UNFORWARDABLE_IDENTITY":
      return {
        check: "identity forwarded unchanged by impersonation",
        fix: "kube-apiserver's impersonation filter would add groups to this identity (a ServiceAccount's, a node's or system:anonymous with no groups of its own); map the username to another name (a prefix such as oidc:), or give the identity groups in the token",
      };
    case "CEL_MAPPING":
      return {
        check: "claim mapping expressions",
        fix: "a claimMappings expression failed on this token; guard optional claims with has(claims.x)",
      };
    case "CLAIM_VALIDATION":
      return {
        check: "claim validation rules",
        fix: "a claimValidationRules expression rejected the token; its message says which rule",
      };
    case "USER_VALIDATION":
      return {
        check: "user validation rules",
        fix: "a userValidationRules expression rejected the mapped identity; its message says which rule",
      };
    case "WEBSOCKET_PROTOCOL":
      return {
        check: "WebSocket bearer protocol",
        fix: "send the token as the subprotocol base64url.bearer.authorization.k8s.io.<base64url token> (unpadded)",
      };
    case "TOKEN_REVIEW_REFUSED":
    case "TOKEN_REVIEW_FAILED":
      return {
        check: "TokenReview",
        fix: "the API server did not authenticate the passed-through token; check it with `kubectl auth whoami` using that token",
      };
  }
}
