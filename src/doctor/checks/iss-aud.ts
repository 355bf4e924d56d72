// iss must equal a configured issuer URL byte for byte (a trailing slash breaks it), and aud must
// hold the configured client id; the issuer's discovery document must name the same URL.
// kube-apiserver: plugin/pkg/authenticator/token/oidc/oidc.go (untrustedIssuer, hasCorrectIssuer)
// and go-oidc's verify.go.

import { displayValue } from "../../token/render-text.ts";
import { type Check, fail, pass, skipped } from "../check.ts";
import { isUnavailable, unknownBundleReason } from "../context.ts";

const decisive = new Set(["UNKNOWN_ISSUER", "WRONG_ISSUER", "WRONG_AUDIENCE"]);

export const issAud: Check = {
  id: "iss-aud",
  title: "the token's issuer and audience match the configuration",
  progress: "comparing iss and aud with the configured issuer",
  async run(context) {
    const decoded = await context.decoded();
    if (!decoded || !("claims" in decoded)) return skipped("no readable token");
    const oidc = await context.oidc();
    if (isUnavailable(oidc)) return skipped(oidc.unavailable);
    const verdict = await context.verdict();
    if (isUnavailable(verdict)) return skipped(verdict.unavailable);
    const { iss, aud } = decoded.claims;
    const evidence = [
      `token: iss=${displayValue(iss)} aud=${displayValue(aud)}`,
      ...oidc.jwt.map((j) => `${oidc.source}: issuer ${j.issuer.url}, audiences ${j.issuer.audiences.join(", ")}`),
      ...oidc.notes,
    ];
    const refusal = verdict.refusal;
    if (refusal && decisive.has(refusal.code)) {
      return fail(
        `the token is refused by the ${refusal.check} check [${refusal.code}]`,
        [...evidence, refusal.message],
        refusal.fix,
      );
    }
    if (refusal?.code === "ISSUER_NOT_READY" && /issuer did not match/.test(refusal.message)) {
      return fail(
        "the issuer's discovery document names a different issuer URL than the one configured",
        [...evidence, refusal.message],
        "set the configured issuer URL to exactly the discovery document's `issuer` (Keycloak: the realm URL as clients reach it; check its hostname/frontend URL setting)",
      );
    }
    if (refusal?.code === "ISSUER_NOT_READY" && oidc.caUnknown) {
      return skipped(`the issuer's discovery could not be read: ${unknownBundleReason(oidc)}`, [
        ...evidence,
        refusal.message,
      ]);
    }
    if (refusal?.code === "ISSUER_NOT_READY") {
      return skipped(
        `the issuer's discovery failed (${verdict.discovery && !verdict.discovery.ok ? verdict.discovery.error : refusal.message}); see issuer-tls and netpath`,
        evidence,
      );
    }
    return pass(
      `iss is ${displayValue(iss)} and aud holds ${verdict.audiences?.find((a) => [aud].flat().includes(a)) ?? "a configured audience"}`,
      evidence,
    );
  },
};
