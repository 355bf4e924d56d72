// Copies of the bodies an audit event records, taken as they stream past, bounded. The gateway
// never holds a body to forward it; for an audited request it keeps a copy of what the policy's
// level asks for: the request's JSON at Metadata and above (objectRef's name, uid and
// resourceVersion come from it, as LogRequestObject takes them), the response's JSON at
// RequestResponse, and otherwise only a response that is a Status (its reason and message fill
// responseStatus at every level).
import { type Readable, Transform } from "node:stream";

/** The API server refuses request bodies above 3 MiB (kube-apiserver's --max-request-body-bytes default). */
export const requestCaptureLimit = 3 * 1024 * 1024;
/** The largest response object kept for an event; larger ones are left out of it. */
export const responseCaptureLimit = 10 * 1024 * 1024;

// apimachinery's JSON serializer writes a Status's kind first.
const statusPrefix = Buffer.from('{"kind":"Status"');

export class BodyCapture {
  readonly #limit: number;
  readonly #statusOnly: boolean;
  #chunks: Buffer[] = [];
  #size = 0;
  #dropped = false;

  /** `statusOnly`: keep the body only if it is a Status. */
  constructor(limit: number, statusOnly = false) {
    this.#limit = limit;
    this.#statusOnly = statusOnly;
  }

  add(chunk: Buffer): void {
    if (this.#dropped) return;
    this.#size += chunk.length;
    if (this.#size > this.#limit) {
      this.#drop();
      return;
    }
    this.#chunks.push(chunk);
    if (this.#statusOnly && this.#size >= statusPrefix.length && this.#chunks.length <= 2) {
      const head = Buffer.concat(this.#chunks).subarray(0, statusPrefix.length);
      if (!head.equals(statusPrefix)) this.#drop();
    }
  }

  /** The body as text, or undefined when it was too large or (statusOnly) not a Status. */
  text(): string | undefined {
    if (this.#dropped) return undefined;
    if (this.#statusOnly && this.#size < statusPrefix.length) return undefined;
    return Buffer.concat(this.#chunks).toString("utf8");
  }

  #drop(): void {
    this.#dropped = true;
    this.#chunks = [];
  }
}

/** The request body, with a copy going to `capture` as it is forwarded. */
export function capturedRequestBody(body: Readable, capture: BodyCapture): Readable {
  const tee = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      capture.add(chunk);
      callback(null, chunk);
    },
  });
  body.on("error", (error) => tee.destroy(error));
  return body.pipe(tee);
}

/** Whether a Content-Type is JSON as kube-apiserver decodes it (application/json and the patch types). */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = (contentType.split(";")[0] ?? "").trim().toLowerCase();
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}
