// The HTTP load generator, run as its own process so it does not share an event loop with any
// proxy: `connections` loops, each on its own keep-alive TLS connection, send GETs back to back
// for a warm-up and then a fixed measured time, timing each with a microsecond clock.
// Input: one JSON argument (LoadSpec). Output: one JSON line (LoadResult).
import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";

export interface LoadSpec {
  readonly url: string;
  readonly caFile: string;
  readonly connections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** One token for every request, or a file of tokens (one a line) used once each, in order. */
  readonly token?: string;
  readonly tokenFile?: string;
  /** Headers for every request instead of the bearer token (the ceiling setup's). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  /** Requests that had to reuse a token of the file because it ran out (fresh-token runs). */
  readonly tokenReuses: number;
  readonly firstError?: string;
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

async function main(spec: LoadSpec): Promise<LoadResult> {
  const ca = readFileSync(spec.caFile);
  const url = new URL(spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections, ca });
  const tokens = spec.tokenFile ? readFileSync(spec.tokenFile, "utf8").split("\n").filter(Boolean) : [];
  let nextToken = 0;
  let tokenReuses = 0;
  const token = (): string => {
    if (tokens.length === 0) return spec.token ?? "";
    if (nextToken >= tokens.length) tokenReuses++;
    return tokens[nextToken++ % tokens.length] ?? "";
  };

  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let errors = 0;
  let non2xx = 0;
  let firstError: string | undefined;
  let measuring = false;
  let stopped = false;

  const once = () =>
    new Promise<number>((resolve) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          agent,
          headers: spec.headers
            ? { ...spec.headers, accept: "application/json" }
            : { authorization: `Bearer ${token()}`, accept: "application/json" },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
          res.on("error", () => resolve(-1));
        },
      );
      req.on("error", (error) => {
        firstError ??= error.message;
        resolve(-1);
      });
      req.end();
    });

  const loop = async () => {
    while (!stopped) {
      const started = performance.now();
      const status = await once();
      const ms = performance.now() - started;
      if (!measuring) continue;
      if (status < 0) {
        errors++;
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      if (status < 200 || status >= 300) {
        non2xx++;
        firstError ??= `HTTP ${status}`;
      }
      if (count === latencies.length) {
        const bigger = new Float64Array(latencies.length * 2);
        bigger.set(latencies);
        latencies = bigger;
      }
      latencies[count++] = ms;
    }
  };

  const loops = Array.from({ length: spec.connections }, loop);
  await new Promise((r) => setTimeout(r, spec.warmupMs));
  measuring = true;
  const startedAt = performance.now();
  await new Promise((r) => setTimeout(r, spec.durationMs));
  measuring = false;
  const elapsed = (performance.now() - startedAt) / 1000;
  stopped = true;
  await Promise.all(loops);
  agent.destroy();

  const sorted = latencies.subarray(0, count).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    requests: count,
    errors,
    non2xx,
    rps: count / elapsed,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    meanMs: count ? sum / count : Number.NaN,
    tokenReuses,
    ...(firstError ? { firstError } : {}),
  };
}

if (import.meta.main) {
  const spec = JSON.parse(process.argv[2] ?? "{}") as LoadSpec;
  main(spec).then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (error) => {
      process.stderr.write(`${(error as Error).stack}\n`);
      process.exit(1);
    },
  );
}
