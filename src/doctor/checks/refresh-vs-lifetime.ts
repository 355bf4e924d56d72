// A session must refresh its token before the token expires: oauth2-proxy's --cookie-refresh
// unset or not shorter than the access token lifespan means the dashboard forwards expired
// tokens until the user is sent back to the login (the Kubeapps guide; kubeapps #6106).
import { parseDuration } from "../../config/flags.ts";
import { formatDuration } from "../../token/relative-time.ts";
import { type Check, fail, pass, skipped, warn } from "../check.ts";
import { isUnavailable } from "../context.ts";

export const refreshVsLifetime: Check = {
  id: "refresh-vs-lifetime",
  title: "sessions refresh tokens before they expire",
  progress: "comparing refresh intervals with the token lifetime",
  async run(context) {
    const { options } = context;
    const decoded = await context.decoded();
    const lifetimeMs = options.tokenLifetimeMs ?? (decoded && "claims" in decoded ? decoded.lifetimeMs : undefined);
    const lifetimeSource = options.tokenLifetimeMs !== undefined ? "--token-lifetime" : "the token's exp − iat";
    const intervals: { source: string; ms: number | undefined }[] = [];
    if (options.refreshIntervalMs !== undefined)
      intervals.push({ source: "--refresh-interval", ms: options.refreshIntervalMs });
    const evidence: string[] = [];
    const workloads = await context.workloads();
    if (!isUnavailable(workloads)) {
      for (const w of workloads) {
        if (w.role === "oauth2-proxy") {
          // Only the proxies in front of this token's issuer: others' tokens live by other rules.
          const issuer = w.flags.get("oidc-issuer-url") ?? w.env.get("OAUTH2_PROXY_OIDC_ISSUER_URL");
          const tokenIssuer = decoded && "claims" in decoded ? decoded.claims.iss : undefined;
          if (issuer && typeof tokenIssuer === "string" && issuer !== tokenIssuer) {
            evidence.push(`${w.ref}: oauth2-proxy for another issuer (${issuer}), left out`);
            continue;
          }
          const text = w.flags.get("cookie-refresh") ?? w.env.get("OAUTH2_PROXY_COOKIE_REFRESH");
          let ms: number | undefined;
          try {
            ms = text === undefined ? undefined : parseDuration(text);
          } catch {
            evidence.push(`${w.ref}: --cookie-refresh=${text} is not a duration`);
          }
          intervals.push({ source: `${w.ref} (oauth2-proxy --cookie-refresh)`, ms: ms === 0 ? undefined : ms });
        } else if (w.role === "kube-oidc-gateway" && w.flags.has("session-client-id")) {
          evidence.push(`${w.ref}: the gateway's sessions refresh ahead of each token's own exp`);
        }
      }
    } else evidence.push(workloads.unavailable);
    if (intervals.length === 0)
      return skipped(
        "no refresh interval known: pass --refresh-interval, or let doctor read the oauth2-proxy Deployments",
        evidence,
      );
    if (lifetimeMs === undefined) return skipped("no token lifetime known: pass a token or --token-lifetime", evidence);
    evidence.push(`token lifetime: ${formatDuration(lifetimeMs)} (${lifetimeSource})`);
    const problems: string[] = [];
    const close: string[] = [];
    for (const { source, ms } of intervals) {
      if (ms === undefined) {
        evidence.push(`${source}: not set: sessions are never refreshed`);
        problems.push(source);
      } else {
        evidence.push(`${source}: ${formatDuration(ms)}`);
        if (ms >= lifetimeMs) problems.push(source);
        else if (ms > lifetimeMs - 30_000) close.push(source);
      }
    }
    const suggestion = formatDuration(Math.max(10_000, Math.floor(lifetimeMs * 0.6)));
    const fix = `refresh well before the token expires: e.g. --cookie-refresh=${suggestion} for a ${formatDuration(lifetimeMs)} token (or let kube-oidc-gateway's sessions refresh ahead of exp)`;
    if (problems.length > 0) {
      return fail(
        `${problems.join(", ")} refresh${problems.length === 1 ? "es" : ""} no sooner than the ${formatDuration(lifetimeMs)} token lifetime: expired tokens reach the API`,
        evidence,
        fix,
      );
    }
    if (close.length > 0) return warn(`${close.join(", ")} refresh within 30s of expiry`, evidence, fix);
    return pass(`every refresh interval is shorter than the ${formatDuration(lifetimeMs)} token lifetime`, evidence);
  },
};
