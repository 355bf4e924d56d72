// OpenID Connect Back-Channel Logout 1.0 §2.6: the issuer POSTs a logout token; it is a JWT
// signed by the issuer for this client, carrying the back-channel-logout event, a sid or a sub,
// and never a nonce. A valid one ends every session of that sid (or, without sid, that sub).
import { type createRemoteJWKSet, jwtVerify } from "jose";
import { validSigningAlgorithms } from "../authn/jwt-config.ts";
import { GatewayError } from "../errors.ts";

export const backchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout";

export class LogoutTokenError extends GatewayError {}

export interface LogoutTarget {
  readonly sid?: string;
  readonly sub?: string;
}

export async function verifyLogoutToken(
  token: string,
  keys: ReturnType<typeof createRemoteJWKSet>,
  expected: { readonly issuer: string; readonly clientId: string },
): Promise<LogoutTarget> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, keys, {
      issuer: expected.issuer,
      audience: expected.clientId,
      algorithms: [...validSigningAlgorithms],
      requiredClaims: ["iat", "jti"],
      // A logout token is sent at once; an old one is a replay.
      maxTokenAge: "10m",
      clockTolerance: 30,
    }));
  } catch (error) {
    throw new LogoutTokenError("LOGOUT_TOKEN_INVALID", `logout token refused: ${(error as Error).message}`);
  }
  const events = payload.events;
  if (
    typeof events !== "object" ||
    events === null ||
    typeof (events as Record<string, unknown>)[backchannelLogoutEvent] !== "object"
  ) {
    throw new LogoutTokenError("LOGOUT_TOKEN_INVALID", "logout token lacks the back-channel logout event");
  }
  if ("nonce" in payload) throw new LogoutTokenError("LOGOUT_TOKEN_INVALID", "logout token carries a nonce");
  const sid = typeof payload.sid === "string" ? payload.sid : undefined;
  const sub = typeof payload.sub === "string" ? payload.sub : undefined;
  if (!sid && !sub) throw new LogoutTokenError("LOGOUT_TOKEN_INVALID", "logout token has neither sid nor sub");
  return { sid, sub };
}
