// POST /oauth2/backchannel-logout: the issuer tells the gateway a user's SSO session ended
// (OpenID Connect Back-Channel Logout 1.0 §2.5, §2.8): every gateway session of that sid, or of
// that sub without sid, ends, and their WebSockets close on every replica.

import { LogoutTokenError, verifyLogoutToken } from "../backchannel-logout.ts";
import type { BrowserRequest, SessionContext } from "../context.ts";
import { type Response, readBody, sendJson } from "../responses.ts";

export async function backchannelLogout(context: SessionContext, req: BrowserRequest, res: Response): Promise<void> {
  const refuse = (description: string) => {
    context.logger.info("back-channel logout refused", { detail: description });
    sendJson(res, 400, { error: "invalid_request", error_description: description });
  };
  if (!String(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
    return refuse("expected an application/x-www-form-urlencoded body");
  }
  let token: string | null;
  try {
    token = new URLSearchParams(await readBody(req as NodeJS.ReadableStream)).get("logout_token");
  } catch (error) {
    return refuse((error as Error).message);
  }
  if (!token) return refuse("no logout_token");
  let target: Awaited<ReturnType<typeof verifyLogoutToken>>;
  try {
    target = await verifyLogoutToken(token, await context.issuerKeys(), {
      issuer: context.config.issuerUrl,
      clientId: context.config.clientId,
    });
  } catch (error) {
    if (error instanceof LogoutTokenError) return refuse(error.message);
    throw error;
  }
  const issuer = context.config.issuerUrl;
  const ended = target.sid
    ? await context.sessions.endAll("sid", issuer, target.sid)
    : await context.sessions.endAll("sub", issuer, target.sub ?? "");
  context.metrics.sessionLogouts.inc({ kind: "backchannel" }, ended);
  context.logger.info("back-channel logout", { sessions: ended, by: target.sid ? "sid" : "sub" });
  sendJson(res, 200, {});
}
