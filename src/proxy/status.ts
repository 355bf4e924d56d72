// Every error the gateway answers itself, as the Kubernetes Status object kube-apiserver would
// send (k8s.io/apimachinery pkg/api/errors; k8s.io/apiserver pkg/endpoints/handlers/
// responsewriters). Clients such as kubectl decode the body; a plain-text error would surface
// as "the server has asked for the client to provide credentials (body was not decodable)".
import { GatewayError } from "../errors.ts";

export type StatusReason =
  | "Unauthorized"
  | "Forbidden"
  | "BadRequest"
  | "InternalError"
  | "ServiceUnavailable"
  | "Timeout"
  | "RequestEntityTooLarge";

/** An error that becomes a Status response. */
export class StatusError extends GatewayError {
  readonly httpStatus: number;
  readonly reason: StatusReason;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  constructor(
    code: string,
    httpStatus: number,
    reason: StatusReason,
    message: string,
    options?: ErrorOptions & { details?: Record<string, unknown> },
  ) {
    super(code, message, options);
    this.httpStatus = httpStatus;
    this.reason = reason;
    this.details = options?.details;
  }
}

/** kube-apiserver's 401 for any authentication failure; why it failed goes only to the log. */
export const unauthorized = () => new StatusError("UNAUTHORIZED", 401, "Unauthorized", "Unauthorized");

/** The error as a StatusError; anything else is internal, and its message is not shown to clients. */
export function asStatusError(error: unknown): StatusError {
  return error instanceof StatusError
    ? error
    : new StatusError(
        "INTERNAL",
        500,
        "InternalError",
        "Internal error occurred: the gateway failed to handle the request",
      );
}

export interface StatusResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * Serialises an error the way apimachinery's JSON serializer writes a Status (field order
 * included; a trailing newline as json.Encoder writes). Errors that are not StatusErrors are
 * internal: their message is not shown to clients.
 */
export function toStatus(error: unknown): StatusResponse {
  const e = asStatusError(error);
  const status: Record<string, unknown> = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: e.message,
    reason: e.reason,
  };
  if (e.details) status.details = e.details;
  status.code = e.httpStatus;
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "cache-control": "no-cache, private",
  };
  if (e.httpStatus === 403) headers["x-content-type-options"] = "nosniff";
  return { status: e.httpStatus, headers, body: `${JSON.stringify(status)}\n` };
}

const reasonPhrases: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** A whole HTTP/1.1 response for a raw socket (upgrades, malformed requests); it closes the connection. */
export function rawHttpResponse(response: StatusResponse): string {
  const headers = {
    ...response.headers,
    "content-length": String(Buffer.byteLength(response.body)),
    connection: "close",
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `HTTP/1.1 ${response.status} ${reasonPhrases[response.status] ?? ""}\r\n${lines.join("")}\r\n${response.body}`;
}
