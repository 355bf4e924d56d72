// A fetch for the login issuer that trusts the configured CA bundle. Node's global fetch cannot
// be given a CA per call, and the issuer in a cluster is often signed by a private CA; this one
// goes through node:https with that bundle and answers a standard Response, which is what
// openid-client's and jose's customFetch hooks take.
import * as https from "node:https";

export interface IssuerFetchInit {
  readonly method?: string;
  readonly headers?: Record<string, string> | Headers;
  readonly body?: string | URLSearchParams | null | unknown;
  readonly signal?: AbortSignal | null;
}

const maxBodyBytes = 4 * 1024 * 1024;

export function issuerFetch(ca: string | undefined, timeoutMs = 10_000) {
  return (input: string | URL, init: IssuerFetchInit = {}): Promise<Response> =>
    new Promise((resolve, reject) => {
      const url = new URL(String(input));
      if (url.protocol !== "https:") return reject(new TypeError(`refusing a non-https issuer URL: ${url.origin}`));
      const headers: Record<string, string> = {};
      const given = init.headers instanceof Headers ? Object.fromEntries(init.headers) : init.headers;
      if (given) Object.assign(headers, given);
      const body =
        init.body === undefined || init.body === null
          ? undefined
          : init.body instanceof URLSearchParams
            ? init.body.toString()
            : String(init.body);
      if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
      const req = https.request(url, { method: init.method ?? "GET", headers, ca, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBodyBytes) req.destroy(new Error(`issuer response larger than ${maxBodyBytes} bytes`));
          else chunks.push(chunk);
        });
        res.on("end", () => {
          const status = res.statusCode ?? 502;
          const responseHeaders = new Headers();
          for (let i = 0; i < res.rawHeaders.length; i += 2) {
            responseHeaders.append(res.rawHeaders[i] ?? "", res.rawHeaders[i + 1] ?? "");
          }
          const nullBody = status === 204 || status === 304 || (status >= 100 && status < 200);
          resolve(new Response(nullBody ? null : Buffer.concat(chunks), { status, headers: responseHeaders }));
        });
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(new Error(`the issuer did not answer within ${timeoutMs} ms`)));
      req.on("error", reject);
      init.signal?.addEventListener("abort", () => req.destroy(new Error("aborted")), { once: true });
      req.end(body);
    });
}
