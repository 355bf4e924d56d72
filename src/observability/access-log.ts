// The access log's one writer, for the API pipeline (src/proxy/api-proxy.ts) and the session
// front's login and dashboard requests (src/session/session-front.ts): one info line per request
// when it ends, sampled by --access-log-sample-rate among requests answered below 400 (refusals,
// failures and requests the client left are always written), paths always without their query
// (a query may carry a token, e.g. access_token, or an authorization code).
import type { LogFields, Logger } from "./logger.ts";

/** A request target without its query. */
export function withoutQuery(url: string): string {
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}

export class AccessLog {
  readonly #logger: Logger;
  readonly #sampleRate: number;

  constructor(logger: Logger, sampleRate: number) {
    this.#logger = logger;
    this.#sampleRate = sampleRate;
  }

  /**
   * Writes the line of a request that ended: `describe` gives the fields before the status and
   * those after the latency (the line's order is part of the text format people read), and is
   * called only when the line is written, so a line sampled out or below --log-level costs
   * nothing to build.
   */
  write(
    outcome: { readonly status: number | undefined; readonly completed: boolean; readonly started: number },
    describe: () => { readonly before: LogFields; readonly upstreamStatus?: number; readonly after?: LogFields },
  ): void {
    if (this.#logger.enabled?.("info") === false) return;
    const failed = outcome.status === undefined || outcome.status >= 400 || !outcome.completed;
    if (!failed && this.#sampleRate < 1 && Math.random() >= this.#sampleRate) return;
    const { before, upstreamStatus, after } = describe();
    this.#logger.info("request", {
      ...before,
      status: outcome.status,
      upstreamStatus,
      ...(outcome.completed ? {} : { incomplete: true }),
      latencyMs: Math.round((performance.now() - outcome.started) * 100) / 100,
      ...after,
    });
  }
}
