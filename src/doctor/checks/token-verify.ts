// Everything else kube-apiserver checks before a token becomes an identity: the signature by a
// key the issuer publishes, an allowed algorithm, the username claim (and email_verified when the
// username is an email), required claims, CEL rules; then the gateway's own policy (no empty or
// system: identities). Verified locally with the gateway's authenticator, so a refusal names
// the exact check and kube-apiserver's own message, which the API server only writes to its log.
import { type Check, fail, pass, skipped } from "../check.ts";
import { isUnavailable, unknownBundleReason } from "../context.ts";

/** Refusals other checks own: they report them with better evidence. */
const ownedElsewhere: Record<string, string> = {
  MALFORMED: "token-decode",
  EXPIRED: "token-expiry",
  NOT_YET_VALID: "token-expiry",
  UNKNOWN_ISSUER: "iss-aud",
  WRONG_ISSUER: "iss-aud",
  WRONG_AUDIENCE: "iss-aud",
  ISSUER_NOT_READY: "issuer-tls and netpath",
  GROUPS_CLAIM: "groups-claim",
};

export const tokenVerify: Check = {
  id: "token-verify",
  title: "the configuration accepts the token (signature, claims, rules)",
  progress: "verifying the token's signature and claims",
  async run(context) {
    const verdict = await context.verdict();
    if (isUnavailable(verdict)) return skipped(verdict.unavailable);
    const oidc = await context.oidc();
    const source = isUnavailable(oidc) ? "the configuration" : oidc.source;
    const refusal = verdict.refusal;
    if (refusal) {
      if (refusal.code === "ISSUER_NOT_READY" && !isUnavailable(oidc) && oidc.caUnknown)
        return skipped(`not verified locally: ${unknownBundleReason(oidc)}`, [refusal.message]);
      const owner = ownedElsewhere[refusal.code];
      if (owner) return skipped(`refused [${refusal.code}], reported by ${owner}`, [refusal.message]);
      return fail(
        `the ${refusal.check} check refuses the token [${refusal.code}]`,
        [`under ${source}`, refusal.message],
        refusal.fix,
      );
    }
    const gateway = verdict.gatewayRefusal;
    const viaGateway = context.options.gateway !== undefined || (!isUnavailable(oidc) && !oidc.atApiServer);
    if (gateway && viaGateway) {
      return fail(
        `kube-apiserver would accept the token, but the gateway refuses the identity [${gateway.code}]`,
        [`under ${source}`, gateway.message],
        gateway.fix,
      );
    }
    const user = verdict.user;
    return pass(`signature and claims verified; the token maps to ${JSON.stringify(user?.username)}`, [
      `under ${source}`,
      `groups: ${user?.groups.length ? user.groups.join(", ") : "(none)"}`,
      ...verdict.notes.map((n) => `note: ${n}`),
    ]);
  },
};
