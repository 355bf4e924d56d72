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
/** What all requests' copies may hold at once; beyond it, bodies are left out of their events. */
export const captureBudgetBytes = 64 * 1024 * 1024;

/**
 * The bytes every capture of one gateway holds together. kube-apiserver holds the objects it
 * logs anyway; the gateway holds copies only for the event, so a burst of large audited lists at
 * RequestResponse costs at most this much, and the events of the rest go without their bodies.
 */
export class CaptureBudget {
  readonly #limit: number;
  #held = 0;

  constructor(limit = captureBudgetBytes) {
    this.#limit = limit;
  }

  take(bytes: number): boolean {
    if (this.#held + bytes > this.#limit) return false;
    this.#held += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#held -= bytes;
  }

  get held(): number {
    return this.#held;
  }
}

// apimachinery's JSON serializer writes a Status's kind first.
const statusPrefix = Buffer.from('{"kind":"Status"');

export class BodyCapture {
  readonly #limit: number;
  readonly #budget: CaptureBudget;
  readonly #statusOnly: boolean;
  #chunks: Buffer[] = [];
  #size = 0;
  #dropped = false;

  /** `statusOnly`: keep the body only if it is a Status. Call release() when done with it. */
  constructor(limit: number, budget: CaptureBudget, statusOnly = false) {
    this.#limit = limit;
    this.#budget = budget;
    this.#statusOnly = statusOnly;
  }

  add(chunk: Buffer): void {
    if (this.#dropped) return;
    if (this.#size + chunk.length > this.#limit || !this.#budget.take(chunk.length)) {
      this.#drop();
      return;
    }
    this.#size += chunk.length;
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

  /** Gives the bytes held back to the budget; the capture keeps nothing after it. */
  release(): void {
    this.#drop();
  }

  #drop(): void {
    this.#dropped = true;
    this.#chunks = [];
    this.#budget.give(this.#size);
    this.#size = 0;
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
