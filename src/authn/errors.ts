import { GatewayError } from "../errors.ts";

/**
 * Why a token was refused. The code is the `reason` label of the authentication metric and
 * goes to the log; the client only ever sees kube-apiserver's plain 401.
 */
export type AuthenticationFailure =
  | "NO_TOKEN"
  | "MALFORMED"
  | "UNKNOWN_ISSUER"
  | "ISSUER_NOT_READY"
  | "UNSUPPORTED_ALG"
  | "BAD_SIGNATURE"
  | "BAD_CLAIMS"
  | "WRONG_ISSUER"
  | "WRONG_AUDIENCE"
  | "EXPIRED"
  | "NOT_YET_VALID"
  | "USERNAME_CLAIM"
  | "EMAIL_NOT_VERIFIED"
  | "GROUPS_CLAIM"
  | "UID_CLAIM"
  | "REQUIRED_CLAIM"
  | "DISTRIBUTED_CLAIM"
  | "EMPTY_USERNAME"
  | "SYSTEM_IDENTITY"
  | "UNFORWARDABLE_IDENTITY"
  | "WEBSOCKET_PROTOCOL"
  | "CEL_MAPPING"
  | "CLAIM_VALIDATION"
  | "USER_VALIDATION"
  | "TOKEN_REVIEW_REFUSED"
  | "TOKEN_REVIEW_FAILED";

export class AuthenticationError extends GatewayError {
  declare readonly code: AuthenticationFailure;
  constructor(code: AuthenticationFailure, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}
