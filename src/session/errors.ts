// Why a browser session could not be used. Codes are stable (logs, metrics and tests match on
// them); messages are for the log, never shown with token material.
import { GatewayError } from "../errors.ts";

export type SessionErrorCode =
  /** No session cookie, or one that does not open (wrong secret, tampered, expired). */
  | "NO_SESSION"
  /** The cookie opened but the store no longer has the session (logged out, expired). */
  | "SESSION_ENDED"
  /** The issuer refused the refresh token (invalid_grant): the session is over. */
  | "REFRESH_REJECTED"
  /** The issuer could not be reached to refresh, and the current token has expired. */
  | "REFRESH_UNAVAILABLE"
  /** The session store (Redis) did not answer. */
  | "STORE_UNAVAILABLE"
  /** The login callback did not match a login this gateway started. */
  | "LOGIN_STATE"
  /** The issuer's answer to the login failed a check (state, nonce, PKCE, id token). */
  | "LOGIN_FAILED"
  /** The id token the issuer gave is not accepted by the gateway's authentication settings. */
  | "IDENTITY_REFUSED"
  /** A cross-site request tried to use the session cookie. */
  | "CROSS_SITE";

export class SessionError extends GatewayError {
  declare readonly code: SessionErrorCode;
  constructor(code: SessionErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}
