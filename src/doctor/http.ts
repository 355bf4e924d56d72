// The doctor's HTTP: one JSON request with a deadline and a per-request CA, answering with the
// status and body instead of throwing on 4xx (a 401 or 403 is evidence, not an error).
import * as http from "node:http";
import * as https from "node:https";

export interface JsonRequest {
  readonly method?: "GET" | "POST";
  readonly body?: unknown;
  /** PEM bundle that must verify the server; system roots when absent. */
  readonly ca?: string;
  /** An agent carrying client credentials (the admin's kubeconfig); overrides `ca`. */
  readonly agent?: https.Agent;
  readonly authorization?: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface JsonResponse {
  readonly status: number;
  /** Parsed JSON, or the text when the body is not JSON. */
  readonly body: unknown;
}

const maxBodyBytes = 16 << 20;

export function requestJson(url: string | URL, request: JsonRequest): Promise<JsonResponse> {
  const payload = request.body === undefined ? undefined : JSON.stringify(request.body);
  // Plain HTTP only for what answers without credentials (health ports); never with a token.
  const plain = new URL(url).protocol === "http:";
  if (plain && request.authorization)
    return Promise.reject(new Error(`refusing to send a credential over plain HTTP to ${url}`));
  return new Promise((resolve, reject) => {
    // One deadline for the whole exchange: `timeout` alone is per idle period, so a server that
    // trickles bytes (or a handshake that stalls in stages) could hold a check far longer.
    const deadline = setTimeout(
      () => req.destroy(new Error(`no answer from ${new URL(url).origin} within ${request.timeoutMs} ms`)),
      request.timeoutMs,
    );
    const options: https.RequestOptions = {
      method: request.method ?? "GET",
      agent: request.agent ?? false,
      ca: request.agent ? undefined : request.ca,
      signal: request.signal,
      headers: {
        accept: "application/json",
        ...(payload === undefined
          ? {}
          : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }),
        ...(request.authorization ? { authorization: request.authorization } : {}),
      },
    };
    const req = (plain ? http : https).request(url, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBodyBytes) req.destroy(new Error(`${url}: response larger than ${maxBodyBytes} bytes`));
        else chunks.push(chunk);
      });
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: keep the text as evidence
        }
        clearTimeout(deadline);
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on("error", reject);
    });
    req.on("error", (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    req.end(payload);
  });
}

/** The message of a Kubernetes Status body, or a short excerpt of whatever came back. */
export function statusMessage(body: unknown): string {
  if (body && typeof body === "object" && typeof (body as { message?: unknown }).message === "string") {
    return (body as { message: string }).message;
  }
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
