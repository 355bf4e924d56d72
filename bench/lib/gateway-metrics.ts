// Reading the gateway's own Prometheus text (its health port's /metrics) during a run: GC time
// per cell, requests served under the profiler, and whether every watch was closed on the
// gateway's side before the after-close RSS reading.

/**
 * The sum of every series of metric `name` (each label set; `name` itself, or a `_sum` or
 * `_total` series named in full); undefined when the endpoint does not answer 200 or has no
 * such series.
 */
export async function metricSum(metricsUrl: string, name: string): Promise<number | undefined> {
  let text: string;
  try {
    const response = await fetch(metricsUrl);
    if (!response.ok) return undefined;
    text = await response.text();
  } catch {
    return undefined;
  }
  let sum: number | undefined;
  for (const line of text.split("\n")) {
    // The name ends where its labels or its value start, so `x_total` does not also match `x_total_bytes`.
    if (line.startsWith(name) && (line[name.length] === "{" || line[name.length] === " ")) {
      sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return sum;
}
