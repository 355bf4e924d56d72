// exp and nbf against this machine's clock. kube-apiserver allows no leeway on exp and one
// minute on nbf (go-oidc verify.go), so a token a dashboard keeps past exp fails on every call.

import { formatDuration, formatRelative } from "../../token/relative-time.ts";
import { type Check, fail, pass, skipped, warn } from "../check.ts";

export const tokenExpiry: Check = {
  id: "token-expiry",
  title: "the token is within its validity period",
  progress: "checking the token's times",
  async run(context) {
    const decoded = await context.decoded();
    if (!decoded || !("claims" in decoded)) return skipped("no readable token");
    const now = Date.now();
    const times = new Map(decoded.times.map((t) => [t.claim, t]));
    const evidence = decoded.times.map((t) => `${t.claim}: ${t.iso} (${t.relative})`);
    if (decoded.lifetimeMs !== undefined) evidence.push(`lifetime: ${formatDuration(decoded.lifetimeMs)} (exp − iat)`);
    const exp = times.get("exp");
    if (!exp)
      return fail(
        "the token has no numeric exp claim: kube-apiserver treats it as expired",
        evidence,
        "fix the issuer's token format; every id token carries exp",
      );
    if (exp.at < now) {
      return fail(
        `the token expired ${formatRelative(exp.at, now)} (${exp.iso})`,
        evidence,
        "get a fresh token (log in again or refresh). A dashboard that keeps sending expired tokens refreshes too late: see refresh-vs-lifetime",
        // A session that never refreshes (or too late) hands out exactly this token: when
        // refresh-vs-lifetime fails too, it is the cause and the one to fix first.
        "refresh-vs-lifetime",
      );
    }
    const nbf = times.get("nbf");
    if (nbf && nbf.at > now + 60_000) {
      return fail(
        `the token is not valid until ${nbf.iso} (${nbf.relative}): a clock is off`,
        evidence,
        "synchronise the clocks of the issuer and this machine (NTP)",
      );
    }
    if (exp.at - now < 60_000)
      return warn(
        `the token expires ${exp.relative}`,
        evidence,
        "refresh it now; checks after this one may race its expiry",
      );
    return pass(`valid, expires ${exp.relative}`, evidence);
  },
};
