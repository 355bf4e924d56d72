// /oauth2/sign_out: ends the session here (and, through the store, its WebSockets on every
// replica), clears the cookie, and sends the browser to the issuer's end-session endpoint with
// id_token_hint so the issuer's SSO session ends too (RP-Initiated Logout 1.0).
import { isNavigation } from "../browser-request.ts";
import { type BrowserRequest, clearSessionCookie, currentSession, type SessionContext } from "../context.ts";
import { type Response, redirect, sendJson } from "../responses.ts";

export async function logout(context: SessionContext, req: BrowserRequest, res: Response): Promise<void> {
  const record = await currentSession(context, req);
  if (record) {
    await context.sessions.end(record.id);
    context.metrics.sessionLogouts.inc({ kind: "local" });
    context.logger.info("session ended by logout", { subject: record.subject });
  }
  const afterLogout = `${context.config.externalUrl}${context.config.postLogoutPath}`;
  let location = context.config.postLogoutPath;
  try {
    location = (await context.issuer.endSessionUrl(record?.idToken, afterLogout))?.href ?? location;
  } catch (error) {
    context.logger.warn("issuer logout URL unavailable; logged out locally only", { error: (error as Error).message });
  }
  const cookies = [clearSessionCookie(context)];
  if (isNavigation(req.method ?? "GET", req.headers)) return redirect(res, location, cookies);
  sendJson(res, 200, { loggedOut: true, issuerLogoutUrl: location }, cookies);
}
