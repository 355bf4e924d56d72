// GET /oauth2/callback: the issuer sends the browser back with a code. The login-state cookie
// must match `state`; openid-client checks state, iss, PKCE and the id token's nonce, audience
// and expiry; then the id token must pass the gateway's own authenticator, so a session is only
// created for an identity the API server would accept, and the user is told plainly if not.
import { AuthenticationError } from "../../authn/errors.ts";
import { safeReturnPath } from "../browser-request.ts";
import { type BrowserRequest, loginCookieName, type SessionContext, sessionCookie } from "../context.ts";
import { readCookies, setCookie } from "../cookies.ts";
import type { LoginChecks } from "../issuer-client.ts";
import { problemPage, type Response, redirect } from "../responses.ts";

export async function finishLogin(context: SessionContext, req: BrowserRequest, res: Response): Promise<void> {
  const { metrics, logger } = context;
  const search = (req.url ?? "").includes("?") ? `?${(req.url ?? "").split("?")[1]}` : "";
  const query = new URLSearchParams(search);
  const fail = (code: string, status: number, title: string, detail: string) => {
    metrics.sessionLogins.inc({ result: code });
    logger.info("login failed", { reason: code, detail });
    problemPage(res, status, title, detail);
  };
  const issuerError = query.get("error");
  if (issuerError) {
    const description = query.get("error_description");
    return fail(
      "ISSUER_ERROR",
      400,
      "The identity provider refused the login",
      `${issuerError}${description ? `: ${description}` : ""}`,
    );
  }
  const state = query.get("state") ?? "";
  const cookieName = loginCookieName(state);
  const sealed = state ? readCookies(req.headers.cookie).get(cookieName) : undefined;
  const login = sealed ? await context.loginSealer.open(sealed) : undefined;
  if (!login || login.state !== state) {
    return fail(
      "LOGIN_STATE",
      400,
      "This login link is no longer valid",
      "The login took longer than 10 minutes, was started in another browser, or was already used.",
    );
  }
  const clearLogin = setCookie(cookieName, "", 0);
  let response: Awaited<ReturnType<typeof context.issuer.exchange>>;
  try {
    response = await context.issuer.exchange(search, login as unknown as LoginChecks);
  } catch (error) {
    return fail("LOGIN_FAILED", 400, "The login could not be completed", (error as Error).message);
  }
  try {
    await context.authenticator.authenticate(response.id_token ?? "");
  } catch (error) {
    if (error instanceof AuthenticationError) {
      return fail(
        "IDENTITY_REFUSED",
        403,
        "Logged in, but this identity cannot use the cluster",
        `The identity provider's id token is refused by the gateway's authentication settings (${error.code}): ${error.message}. ` +
          "The gateway's log records the same reason.",
      );
    }
    throw error;
  }
  const record = await context.sessions.create(response);
  metrics.sessionLogins.inc({ result: "success" });
  logger.info("session started", { subject: record.subject, expiresAt: new Date(record.expiresAt).toISOString() });
  redirect(res, safeReturnPath(login.rd as string), [await sessionCookie(context, record), clearLogin]);
}
