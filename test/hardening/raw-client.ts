// A raw HTTP/1.1-over-TLS client for the hostile-request corpus: it sends exactly the bytes a
// case gives (smuggling, CR/LF, duplicate and oversized headers, obs-fold, pipelining) that
// node:https would refuse to write, and parses whatever responses come back.
import * as https from "node:https";
import * as tls from "node:tls";

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string[]>;
  readonly body: string;
}

export interface RawResult {
  readonly responses: RawResponse[];
  /** The connection ended (closed or reset) before `expected` responses arrived. */
  readonly closed: boolean;
}

/** Parses as many complete HTTP/1.1 responses as `data` holds. */
export function parseResponses(data: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let offset = 0;
  while (offset < data.length) {
    const end = data.indexOf("\r\n\r\n", offset);
    if (end === -1) break;
    const head = data.subarray(offset, end).toString("latin1").split("\r\n");
    const status = Number((head[0] ?? "").split(" ")[1]);
    const headers: Record<string, string[]> = {};
    for (const line of head.slice(1)) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).trim().toLowerCase();
      headers[name] = [...(headers[name] ?? []), line.slice(colon + 1).trim()];
    }
    let cursor = end + 4;
    let body: Buffer;
    if (status === 101 || status === 304 || status === 204) {
      body = Buffer.alloc(0);
    } else if (headers["transfer-encoding"]?.some((v) => /chunked/i.test(v))) {
      const chunks: Buffer[] = [];
      for (;;) {
        const lineEnd = data.indexOf("\r\n", cursor);
        if (lineEnd === -1) return out;
        const size = Number.parseInt(data.subarray(cursor, lineEnd).toString("latin1"), 16);
        cursor = lineEnd + 2;
        if (size === 0) {
          const trailerEnd = data.indexOf("\r\n", cursor);
          if (trailerEnd === -1) return out;
          cursor = trailerEnd + 2;
          break;
        }
        if (cursor + size + 2 > data.length) return out;
        chunks.push(data.subarray(cursor, cursor + size));
        cursor += size + 2;
      }
      body = Buffer.concat(chunks);
    } else if (headers["content-length"] === undefined) {
      // No framing (e.g. an HTTP/1.0 answer): the body runs to the end of the connection.
      body = data.subarray(cursor);
      cursor = data.length;
    } else {
      const length = Number(headers["content-length"][0]);
      if (cursor + length > data.length) break;
      body = data.subarray(cursor, cursor + length);
      cursor += length;
    }
    out.push({ status, headers, body: body.toString("utf8") });
    offset = cursor;
  }
  return out;
}

/**
 * Sends `bytes` over a fresh TLS connection (ALPN http/1.1) and resolves with the responses
 * once `expected` of them arrived, the server closed, or `timeoutMs` passed. Write errors (the
 * server may reset while a huge request is still being written) end the exchange, not the test.
 */
export function rawExchange(
  url: string,
  ca: string,
  bytes: string | Buffer,
  { expected = 1, timeoutMs = 10_000 }: { expected?: number; timeoutMs?: number } = {},
): Promise<RawResult> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const received: Buffer[] = [];
    let settled = false;
    const socket = tls.connect({ host: hostname, port: Number(port), ca, ALPNProtocols: ["http/1.1"] });
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ responses: parseResponses(Buffer.concat(received)), closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on("secureConnect", () => socket.write(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes));
    socket.on("data", (chunk: Buffer) => {
      received.push(chunk);
      if (parseResponses(Buffer.concat(received)).length >= expected) finish(false);
    });
    socket.on("error", () => finish(true));
    socket.on("end", () => finish(true));
    socket.on("close", () => finish(true));
  });
}

export interface ClientRequest {
  readonly method?: string;
  readonly path: string;
  /** Names keep the case given; an array value sends the header once per value. */
  readonly headers?: Record<string, string | string[]>;
  readonly body?: string;
}

/** One request through node:https (for cases any HTTP client could send). */
export function clientExchange(url: string, ca: string, request: ClientRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${url}${request.path}`,
      {
        method: request.method ?? "GET",
        ca,
        agent: false,
        headers: request.headers,
        timeout: 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const headers: Record<string, string[]> = {};
          for (let i = 0; i < res.rawHeaders.length; i += 2) {
            const name = (res.rawHeaders[i] ?? "").toLowerCase();
            headers[name] = [...(headers[name] ?? []), res.rawHeaders[i + 1] ?? ""];
          }
          resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString("utf8") });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${request.path} timed out`)));
    req.on("error", reject);
    req.end(request.body);
  });
}
