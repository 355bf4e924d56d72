// The webhook backend: k8s.io/apiserver@v0.37.2 plugin/pkg/audit/webhook/webhook.go over
// pkg/util/webhook/webhook.go (GenericWebhook) and client-go's REST client, which it uses to
// POST each batch as an audit.k8s.io/v1 EventList.
//
// The request, as client-go's rest.Request.Post().Body(list).Do() sends it (checked against the
// test bed's kube-apiserver in webhook-reference.test.ts): to the kubeconfig server's URL path,
// its query dropped, with the query timeout=30s (LoadKubeconfig sets a 30 s client timeout, which
// the REST client also passes as "timeout"), Content-Type application/json, Accept
// "application/json, */*", Accept-Encoding gzip (Go's transport), a Content-Length, and the
// kubeconfig's credentials. The body is the EventList whose items carry no kind and apiVersion
// (the codec sets them on the list alone). The User-Agent differs: kube-apiserver's is Go's
// default "Go-http-client/1.1" (the kubeconfig's rest.Config has none), this one names the
// gateway. 200 to 206 is success; anything else, or no answer, is an error.
//
// Retries, two layers as in Go:
// - client-go's own (rest/with_retry.go, at most 10): a 429 or 5xx answer with a whole-seconds
//   Retry-After is sent again after that many seconds, within the 30 s of the request;
// - GenericWebhook.WithExponentialBackoff with DefaultRetryBackoffWithInitialDelay
//   (--audit-webhook-initial-backoff; Factor 1.5, Jitter 0.2, Steps 5) and the audit plugin's
//   retryOnError (every error is retried): up to 5 attempts, waiting initial, ×1.5, … with up
//   to 20 % added at random (apimachinery@v0.37.2 pkg/util/wait/backoff.go delay and Jitter).
// So a batch takes at most 5 × 30 s plus the waits, never longer.
//
// In the blocking modes processEvents answers with the POST's outcome, once it is known, and the
// request waits for it as kube-apiserver's does (blocking-strict fails it on false); false at once
// when maxInFlight posts are already under way (the event is not queued: memory stays bounded).
// Behind the batch mode the buffered backend awaits send() in the background.

import { readFile } from "node:fs/promises";
import * as http from "node:http";
import * as https from "node:https";
import type { Logger } from "../../observability/logger.ts";
import { encodeEventList } from "../encode.ts";
import type { AuditEvent } from "../types.ts";
import type { AsyncDelegate } from "./buffered.ts";
import { loadWebhookConfig, type WebhookTarget } from "./webhook-config.ts";

/** pkg/util/webhook defaultRequestTimeout: the whole request, retries after Retry-After included. */
export const defaultRequestTimeoutMs = 30_000;

/** wait.Backoff as DefaultRetryBackoffWithInitialDelay builds it. */
export interface Backoff {
  readonly durationMs: number;
  readonly factor: number;
  readonly jitter: number;
  readonly steps: number;
}

export const defaultRetryBackoff = (initialBackoffMs: number): Backoff => ({
  durationMs: initialBackoffMs,
  factor: 1.5,
  jitter: 0.2,
  steps: 5,
});

/**
 * The waits between attempts of wait.ExponentialBackoffWithContext: steps attempts, so steps − 1
 * waits, each the current duration plus up to jitter × it (Jitter), the duration then × factor.
 */
export function backoffDelays(backoff: Backoff, random: () => number = Math.random): number[] {
  const delays: number[] = [];
  let duration = backoff.durationMs;
  for (let step = backoff.steps; step > 1; step--) {
    const jitter = backoff.jitter > 0 ? random() * backoff.jitter * duration : 0;
    delays.push(duration + jitter);
    if (backoff.factor !== 0) duration *= backoff.factor;
  }
  return delays;
}

export interface WebhookOptions {
  readonly configFile: string;
  readonly initialBackoffMs: number;
  readonly logger: Logger;
  readonly userAgent?: string;
  readonly requestTimeoutMs?: number;
  /** Posts under way at once from processEvents (the blocking modes). */
  readonly maxInFlight?: number;
  readonly random?: () => number;
}

const staleConnection = Symbol("stale kept-alive connection");

/** The outcome of one attempt: an error message, or undefined for success. */
type Attempt = string | undefined;

const clientGoMaxRetries = 10;

export class WebhookBackend implements AsyncDelegate {
  readonly #target: WebhookTarget;
  readonly #options: WebhookOptions;
  readonly #agent: http.Agent;
  readonly #inFlight = new Set<Promise<boolean>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #failing = false;
  #closed = false;

  constructor(options: WebhookOptions) {
    this.#options = options;
    this.#target = loadWebhookConfig(options.configFile);
    const t = this.#target;
    this.#agent =
      t.url.protocol === "https:"
        ? new https.Agent({ keepAlive: true, ...this.#tlsOptions() })
        : new http.Agent({ keepAlive: true });
  }

  processEvents(...events: AuditEvent[]): Promise<boolean> | false {
    if (this.#closed || this.#inFlight.size >= (this.#options.maxInFlight ?? 64)) {
      this.#report(this.#closed ? "webhook backend shut down" : "too many audit webhook posts in flight", events);
      return false;
    }
    const sending = this.send(events).finally(() => this.#inFlight.delete(sending));
    this.#inFlight.add(sending);
    return sending;
  }

  /** Posts the events as one EventList, retrying as kube-apiserver does; true when accepted. */
  async send(events: readonly AuditEvent[]): Promise<boolean> {
    const body = Buffer.from(encodeEventList(events));
    const delays = backoffDelays(defaultRetryBackoff(this.#options.initialBackoffMs), this.#options.random);
    let error: Attempt;
    for (let attempt = 0; ; attempt++) {
      error = await this.#post(body);
      // retryOnError: every error is retried while steps remain.
      if (error === undefined || attempt >= delays.length || this.#closed) break;
      await this.#sleep(delays[attempt] as number);
    }
    if (error !== undefined) {
      this.#report(error, events);
      return false;
    }
    if (this.#failing) {
      this.#failing = false;
      this.#options.logger.info("audit plugin 'webhook' delivers again");
    }
    return true;
  }

  run(): void {}

  #tlsOptions(): Pick<https.RequestOptions, "ca" | "cert" | "key" | "servername"> {
    const t = this.#target;
    return { ca: t.ca, cert: t.cert, key: t.key, ...(t.servername ? { servername: t.servername } : {}) };
  }

  async shutdown(): Promise<void> {
    // Nothing is queued here; posts started by processEvents are waited for.
    await Promise.allSettled([...this.#inFlight]);
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#agent.destroy();
  }

  toString(): string {
    return "webhook";
  }

  #report(error: string, events: readonly AuditEvent[]): void {
    if (this.#failing) return;
    this.#failing = true;
    // pkg/audit/metrics.go HandlePluginError("webhook", …), once until a post succeeds again.
    this.#options.logger.error("Error in audit plugin 'webhook'", {
      error,
      events: events.length,
      auditIDs: events.map((e) => e.auditID),
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.add(timer);
    });
  }

  /** One Do(): the POST, sent again after a Retry-After, within the request timeout. */
  async #post(body: Buffer): Promise<Attempt> {
    const timeoutMs = this.#options.requestTimeoutMs ?? defaultRequestTimeoutMs;
    const deadline = performance.now() + timeoutMs;
    const headers = await this.#headers(body.length);
    for (let retries = 0; ; retries++) {
      const left = deadline - performance.now();
      if (left <= 0) return `timed out after ${timeoutMs} ms`;
      let outcome = await this.#request(body, headers, left, timeoutMs);
      // A kept-alive connection the receiver closed meanwhile: sent again at once on a new one,
      // as Go's transport does for a request it could not write, rather than after a backoff.
      if (outcome === staleConnection) outcome = await this.#request(body, headers, left, timeoutMs, true);
      if (typeof outcome === "string") return outcome;
      if (outcome === staleConnection) return "the connection was reset";
      if (outcome.status >= 200 && outcome.status <= 206) return undefined;
      const error = `the webhook answered ${outcome.status}`;
      const retryAfter = /^\d+$/.test(outcome.retryAfter ?? "") ? Number(outcome.retryAfter) * 1000 : undefined;
      const retryable = outcome.status === 429 || outcome.status >= 500;
      if (!retryable || retryAfter === undefined || retries >= clientGoMaxRetries) return error;
      if (retryAfter >= deadline - performance.now()) return error;
      await this.#sleep(retryAfter);
    }
  }

  async #headers(length: number): Promise<http.OutgoingHttpHeaders> {
    const t = this.#target;
    const headers: http.OutgoingHttpHeaders = {
      "Content-Type": "application/json",
      Accept: "application/json, */*",
      "Accept-Encoding": "gzip",
      "User-Agent": this.#options.userAgent ?? "kube-oidc-gateway",
      "Content-Length": length,
    };
    const fromFile = t.tokenFile ? await readFile(t.tokenFile, "utf8").catch(() => undefined) : undefined;
    const token = fromFile?.trim() || t.token;
    if (token) headers.Authorization = `Bearer ${token}`;
    else if (t.basic) {
      headers.Authorization = `Basic ${Buffer.from(`${t.basic.username}:${t.basic.password}`).toString("base64")}`;
    }
    return headers;
  }

  #request(
    body: Buffer,
    headers: http.OutgoingHttpHeaders,
    timeLeftMs: number,
    timeoutMs: number,
    freshConnection = false,
  ): Promise<{ status: number; retryAfter?: string } | string | typeof staleConnection> {
    const url = this.#target.url;
    // client-go keeps the server URL's path only; the one query parameter is its timeout.
    const query = new URLSearchParams({ timeout: `${Math.round(timeoutMs / 1000)}s` });
    const request = (url.protocol === "https:" ? https.request : http.request)({
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ""),
      port: url.port || undefined,
      path: `${url.pathname || "/"}?${query}`,
      method: "POST",
      headers,
      agent: this.#agent,
      ...(freshConnection ? { agent: false as const, ...this.#tlsOptions() } : {}),
    });
    return new Promise((resolve) => {
      const timer = setTimeout(() => request.destroy(new Error(`timed out after ${timeoutMs} ms`)), timeLeftMs);
      request.on("response", (response) => {
        const retryAfter = response.headers["retry-after"];
        // The answer's body does not matter; it is read to the end so the connection is reused.
        response.resume();
        response.on("end", () => {
          clearTimeout(timer);
          resolve({ status: response.statusCode ?? 0, retryAfter });
        });
        response.on("error", (error) => {
          clearTimeout(timer);
          resolve(error.message);
        });
      });
      request.on("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (request.reusedSocket && error.code === "ECONNRESET" && !freshConnection) resolve(staleConnection);
        else resolve(`${error.message}${error.code ? ` (${error.code})` : ""}`);
      });
      request.end(body);
    });
  }
}
