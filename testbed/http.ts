// A small HTTPS client for the test bed. Node's global fetch cannot be given a CA per
// request without importing undici, and the bed's servers all use the bed's own CA.
import * as https from "node:https";

export interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export interface HttpRequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string | readonly string[]>;
  readonly body?: string;
  /** PEM of the CA that signed the server's certificate. */
  readonly ca: string;
  readonly timeoutMs?: number;
}

export function httpsRequest(url: string | URL, options: HttpRequestOptions): Promise<HttpResponse> {
  const { method = "GET", headers = {}, body, ca, timeoutMs = 15_000 } = options;
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        ca,
        headers: { ...headers, ...(body === undefined ? {} : { "content-length": Buffer.byteLength(body) }) },
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${url} timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** Polls `probe` until it returns true or the deadline passes. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  { timeoutMs, intervalMs = 250 }: { timeoutMs: number; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const cause = lastError instanceof Error ? `: last error: ${lastError.message}` : "";
  throw new Error(`${what} was not ready within ${timeoutMs} ms${cause}`);
}
