// GET /oauth2/start?rd=<path>: begins a login. The state, nonce and PKCE verifier travel in a
// short-lived sealed cookie, not in this replica's memory, so the callback may land on any replica.
import { safeReturnPath } from "../browser-request.ts";
import { type BrowserRequest, loginCookieName, type SessionContext } from "../context.ts";
import { setCookie } from "../cookies.ts";
import { IssuerClient } from "../issuer-client.ts";
import { problemPage, type Response, redirect } from "../responses.ts";

const loginStateLifetimeMs = 10 * 60_000;

export async function startLogin(context: SessionContext, req: BrowserRequest, res: Response): Promise<void> {
  const query = new URLSearchParams((req.url ?? "").split("?")[1] ?? "");
  const checks = IssuerClient.newLoginChecks();
  let location: URL;
  try {
    location = await context.issuer.authorizationUrl(checks);
  } catch (error) {
    context.logger.warn("login issuer unavailable", { error: (error as Error).message });
    return problemPage(
      res,
      503,
      "The login service is unavailable",
      "The identity provider could not be reached. Try again in a moment.",
    );
  }
  const expiresAt = Date.now() + loginStateLifetimeMs;
  const sealed = await context.loginSealer.seal({ ...checks, rd: safeReturnPath(query.get("rd")) }, expiresAt);
  redirect(res, location.href, [setCookie(loginCookieName(checks.state), sealed, loginStateLifetimeMs / 1000)]);
}
