// "What identity does this token become?", answered by the gateway's own authenticator (the
// same code `serve` runs, so the answer cannot drift from what the gateway does) for one
// configuration: which authenticator handles the token, whether its issuer's discovery works
// from here, and then either the identity kube-apiserver would derive or the failed check.

import { uncarriedValue } from "../apiserver/impersonation-headers.ts";
import { parseToken } from "../apiserver/jws.ts";
import { gatewayPolicyRefusal } from "../authn/authenticator.ts";
import { AuthenticationError, type AuthenticationFailure } from "../authn/errors.ts";
import { IssuerKeys } from "../authn/issuer-keys.ts";
import { JwtAuthenticator, UnforwardableIdentity } from "../authn/jwt-authenticator.ts";
import type { JwtAuthenticatorConfig } from "../authn/jwt-config.ts";
import { adviseOnRefusal } from "../authn/refusal-advice.ts";
import type { UserInfo } from "../authn/user.ts";

export interface Refusal {
  /** An AuthenticationError code, or UNSAFE_IDENTITY: a value no Impersonate-* header can carry. */
  readonly code: AuthenticationFailure | "UNSAFE_IDENTITY";
  /** kube-apiserver's wording, as its log would show it (the gateway's own for gatewayRefusal). */
  readonly message: string;
  readonly check: string;
  readonly fix: string;
  /**
   * On a gatewayRefusal: the row of docs/serve.md's "Where the gateway deliberately differs from
   * kube-apiserver" that decides the token.
   */
  readonly deviation?: string;
}

/** The rows of docs/serve.md's deviations table that `token` can meet, by refusal code. */
export const deviations = {
  EMPTY_USERNAME: "an empty username is refused",
  SYSTEM_IDENTITY: "system: identities are refused unless --allow-system-identities",
  UNFORWARDABLE: "identities impersonation would give more groups are refused",
  UNSAFE_IDENTITY: "identities a header cannot carry are refused",
} as const;

/**
 * Why the gateway refuses an identity kube-apiserver accepts, or undefined: its policy
 * (gatewayPolicyRefusal), an identity impersonation would change (UnforwardableIdentity, thrown
 * by the authenticator after kube-apiserver's checks) or a value no header can carry.
 */
function deviationFor(
  user: UserInfo,
  unforwardable: UnforwardableIdentity | undefined,
  allowSystemIdentities: boolean,
  advise: (error: AuthenticationError) => Refusal,
): Refusal | undefined {
  const policy = gatewayPolicyRefusal(user, allowSystemIdentities);
  if (policy) {
    const deviation = policy.code === "EMPTY_USERNAME" ? deviations.EMPTY_USERNAME : deviations.SYSTEM_IDENTITY;
    return { ...advise(policy), deviation };
  }
  if (unforwardable) {
    return {
      code: unforwardable.code,
      message: unforwardable.message,
      check: "identity forwarded unchanged by impersonation",
      fix: "map the username to a name that is not a ServiceAccount's, a node's or system:anonymous (a prefix such as oidc:), or give the identity groups of its own",
      deviation: deviations.UNFORWARDABLE,
    };
  }
  const uncarried = uncarriedValue(user);
  if (uncarried) {
    return {
      code: "UNSAFE_IDENTITY",
      message: `the ${uncarried.field} ${JSON.stringify(uncarried.value)} cannot travel unchanged in an Impersonate-* header: ${uncarried.reason}`,
      check: "identity carried unchanged in Impersonate-* headers",
      fix: "map the claim to values without control characters and without leading or trailing blanks (e.g. a CEL expression with .trim())",
      deviation: deviations.UNSAFE_IDENTITY,
    };
  }
  return undefined;
}

export interface TokenVerdict {
  /** The configured issuer that handles the token (kube-apiserver picks by exact `iss`). */
  readonly issuer?: string;
  readonly audiences?: readonly string[];
  /** Whether the issuer's discovery document and keys could be fetched from here. */
  readonly discovery?: { readonly ok: true } | { readonly ok: false; readonly error: string };
  readonly accepted: boolean;
  /** The identity kube-apiserver would derive, when accepted. */
  readonly user?: UserInfo;
  readonly refusal?: Refusal;
  /** Set when kube-apiserver accepts the identity but the gateway's own policy refuses it. */
  readonly gatewayRefusal?: Refusal;
  /** Accepted, but worth knowing: empty groups, Keycloak group paths, the default prefix… */
  readonly notes: readonly string[];
}

export interface VerifyOptions {
  /** How long to wait for the issuer's discovery and keys. */
  readonly timeoutMs: number;
  readonly allowSystemIdentities: boolean;
}

function refusalOf(
  error: AuthenticationError,
  claims: Record<string, unknown> | undefined,
  configs: readonly JwtAuthenticatorConfig[],
  config?: JwtAuthenticatorConfig,
): Refusal {
  const advice = adviseOnRefusal(error.code, { claims, config, issuers: configs.map((c) => c.issuer.url) });
  return { code: error.code, message: error.message, ...advice };
}

/** Waits for the first discovery outcome of the one issuer `authenticator` has. */
function firstDiscovery(timeoutMs: number): {
  readonly events: { onDiscovery(issuer: string, ok: boolean, error?: Error): void };
  readonly outcome: Promise<{ ok: true } | { ok: false; error: string }>;
} {
  let settle: (value: { ok: true } | { ok: false; error: string }) => void = () => {};
  const outcome = new Promise<{ ok: true } | { ok: false; error: string }>((resolve) => {
    settle = resolve;
  });
  const timer = setTimeout(
    () => settle({ ok: false, error: `no answer from the issuer within ${timeoutMs / 1000}s` }),
    timeoutMs,
  );
  const events = {
    onDiscovery(_issuer: string, ok: boolean, error?: Error) {
      clearTimeout(timer);
      settle(ok ? { ok: true } : { ok: false, error: describeFetchError(error) });
    },
  };
  return { events, outcome };
}

/** Node's TLS and socket errors, said the way people search for them. */
function describeFetchError(error: Error | undefined): string {
  if (!error) return "unknown error";
  const code = (error as NodeJS.ErrnoException).code;
  const cause = (error.cause as NodeJS.ErrnoException | undefined)?.code;
  const tls = code ?? cause;
  if (tls && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(tls)) {
    return `TLS: ${error.message} (${tls}): the CA given for the issuer does not verify its certificate chain`;
  }
  return code ? `${error.message} (${code})` : error.message;
}

export async function verifyToken(
  raw: string,
  configs: readonly JwtAuthenticatorConfig[],
  options: VerifyOptions,
): Promise<TokenVerdict> {
  const parsed = parseToken(raw);
  if (!parsed) {
    const error = new AuthenticationError("MALFORMED", "not a JWT kube-apiserver can read (no string iss claim)");
    return { accepted: false, refusal: refusalOf(error, undefined, configs), notes: [] };
  }
  const config = configs.find((c) => c.issuer.url === parsed.issuer);
  if (!config) {
    const error = new AuthenticationError(
      "UNKNOWN_ISSUER",
      `no authenticator for issuer ${JSON.stringify(parsed.issuer)}`,
    );
    return { accepted: false, refusal: refusalOf(error, parsed.payload, configs), notes: [] };
  }
  const base = { issuer: config.issuer.url, audiences: config.issuer.audiences };
  const { events, outcome } = firstDiscovery(options.timeoutMs);
  // The issuer's JwtAuthenticator, which `serve`'s Authenticator runs for this `iss`: kube-apiserver's
  // decision alone. The gateway's own policy (gatewayPolicyRefusal, which `serve` applies after it)
  // is applied below, so that an identity only the gateway refuses is shown as accepted by
  // kube-apiserver (an empty username was reported as kube-apiserver's refusal).
  const authenticator = new JwtAuthenticator(config, new IssuerKeys(config, events), events);
  try {
    authenticator.keys.start();
    const discovery = await outcome;
    const refused = (error: AuthenticationError): TokenVerdict => ({
      ...base,
      discovery,
      accepted: false,
      refusal: refusalOf(error, parsed.payload, configs, config),
      notes: [],
    });
    if (!discovery.ok) {
      return refused(
        new AuthenticationError("ISSUER_NOT_READY", `oidc: authenticator not initialized: ${discovery.error}`),
      );
    }
    let user: UserInfo;
    let unforwardable: UnforwardableIdentity | undefined;
    try {
      ({ user } = await authenticator.authenticate(parsed));
    } catch (error) {
      if (error instanceof UnforwardableIdentity) {
        unforwardable = error;
        user = error.user;
      } else if (error instanceof AuthenticationError) {
        return refused(error);
      } else {
        throw error;
      }
    }
    const gatewayRefusal = deviationFor(user, unforwardable, options.allowSystemIdentities, (error) =>
      refusalOf(error, parsed.payload, configs, config),
    );
    return {
      ...base,
      discovery,
      accepted: true,
      user,
      ...(gatewayRefusal && { gatewayRefusal }),
      notes: notesOn(user, parsed.payload, config),
    };
  } finally {
    authenticator.close();
  }
}

/** What is accepted but likely to surprise: the identity will not match the RBAC people wrote. */
export function notesOn(user: UserInfo, claims: Record<string, unknown>, config: JwtAuthenticatorConfig): string[] {
  const notes: string[] = [];
  const username = config.claimMappings.username;
  if ("prefix" in username && username.prefix === `${config.issuer.url}#`) {
    notes.push(
      `the username carries kube-apiserver's default prefix ${JSON.stringify(username.prefix)} (--oidc-username-prefix unset with a claim other than email): RBAC subjects must be written with it, or set a prefix such as oidc:`,
    );
  }
  const groups = config.claimMappings.groups;
  if (groups && "claim" in groups) {
    if (!(groups.claim in claims)) {
      notes.push(
        `the groups claim ${JSON.stringify(groups.claim)} is not in the token, so the user has no groups and group bindings do not apply: add a group mapper at the issuer (Keycloak: "Group Membership", in the id token)`,
      );
    }
    const paths = user.groups.filter((g) => g.slice(groups.prefix.length).startsWith("/"));
    if (paths.length > 0) {
      notes.push(
        `groups ${JSON.stringify(paths)} are full paths (Keycloak's "Full group path" is on): bindings must name ${JSON.stringify(paths[0])} with the slash, or turn the option off`,
      );
    }
  }
  return notes;
}
