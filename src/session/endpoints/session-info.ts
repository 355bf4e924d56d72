// GET /oauth2/session: the session's user and expiry (refreshing first when due), so a UI can
// warn before the session ends; POST /oauth2/refresh: refresh now (a keep-alive), unless the
// tokens are only seconds old. Both answer JSON 401 without a session, never a redirect.
import { isSameOrigin } from "../browser-request.ts";
import { type BrowserRequest, currentSession, type SessionContext, sessionCookie, sessionSummary } from "../context.ts";
import { SessionError } from "../errors.ts";
import { type Response, sendJson } from "../responses.ts";

export async function sessionInfo(
  context: SessionContext,
  req: BrowserRequest,
  res: Response,
  onDemand: boolean,
): Promise<void> {
  if (onDemand && !isSameOrigin(req.headers, new URL(context.config.externalUrl).origin)) {
    throw new SessionError("CROSS_SITE", "a refresh must come from the gateway's own origin");
  }
  const record = await currentSession(context, req);
  if (!record) throw new SessionError("NO_SESSION", "no session");
  const fresh = await context.refresher.fresh(record, onDemand);
  const cookies = fresh === record ? [] : [await sessionCookie(context, fresh)];
  sendJson(res, 200, await sessionSummary(context, fresh), cookies);
}
