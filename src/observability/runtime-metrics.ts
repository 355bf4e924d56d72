// The process's and Node's own metrics, named as the Prometheus client for Node (prom-client
// v15 lib/metrics/*.js, the `collectDefaultMetrics` set: process_cpu_seconds_total,
// process_resident_memory_bytes, process_open_fds, nodejs_eventloop_lag_p99_seconds,
// nodejs_gc_duration_seconds with its kind label and buckets, …) so existing Node dashboards read
// them, and rendered by the gateway's own exposition (metrics.ts) rather than by prom-client:
// read at scrape time, with no timers, and each line carries the `worker` label that keeps
// `serve --workers`' processes apart when the primary merges their expositions (a sum of two
// processes' p99 event-loop delays or start times means nothing; `sum without (worker)` in
// PromQL gives the sums that do, such as RSS or CPU).
import { readdirSync, readFileSync } from "node:fs";
import { constants, monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";

/** prom-client's default GC buckets (lib/metrics/gc.js). */
export const gcBuckets = [0.001, 0.01, 0.1, 1, 2, 5] as const;

/** perf_hooks' NODE_PERFORMANCE_GC_* kinds, as prom-client labels them (lib/metrics/gc.js). */
const gcKinds: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "major",
  [constants.NODE_PERFORMANCE_GC_MINOR]: "minor",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb",
};

type Line = readonly [name: string, help: string, type: "gauge" | "counter", value: number];

/** /proc/self/limits' "Max open files" soft limit, read once (Linux only; elsewhere undefined). */
function maxFds(): number | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = line?.split(/\s{2,}/)[1];
    return soft && /^\d+$/.test(soft) ? Number(soft) : undefined;
  } catch {
    return undefined;
  }
}

function openFds(): number | undefined {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return undefined;
  }
}

const labelText = (labels: Record<string, string>) => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
};

export class RuntimeMetrics {
  readonly #labels: Record<string, string>;
  readonly #startTime = Math.round((Date.now() - process.uptime() * 1000) / 1000);
  readonly #maxFds = maxFds();
  readonly #loop: ReturnType<typeof monitorEventLoopDelay>;
  readonly #gc = new Map<string, { counts: number[]; sum: number; count: number }>();
  readonly #observer: PerformanceObserver;

  /** `worker`: the slot of `serve --workers` this process is (0: the primary), or none. */
  constructor(worker?: number) {
    this.#labels = worker === undefined ? {} : { worker: String(worker) };
    // prom-client samples the loop delay at 10 ms resolution (eventLoopMonitoringPrecision).
    this.#loop = monitorEventLoopDelay({ resolution: 10 });
    this.#loop.enable();
    this.#observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const kind = gcKinds[(entry as { detail?: { kind?: number } }).detail?.kind ?? 0] ?? "other";
        let series = this.#gc.get(kind);
        if (!series) {
          series = { counts: gcBuckets.map(() => 0), sum: 0, count: 0 };
          this.#gc.set(kind, series);
        }
        const seconds = entry.duration / 1000;
        gcBuckets.forEach((bound, i) => {
          if (seconds <= bound) series.counts[i] = (series.counts[i] ?? 0) + 1;
        });
        series.sum += seconds;
        series.count++;
      }
    });
    this.#observer.observe({ entryTypes: ["gc"] });
  }

  /** Stops observing (the event-loop monitor and the GC observer; neither keeps the process alive). */
  close(): void {
    this.#loop.disable();
    this.#observer.disconnect();
  }

  render(): string {
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    const loop = this.#loop;
    const ns = (value: number) => (Number.isFinite(value) ? value / 1e9 : 0);
    const fds = openFds();
    const lines: Line[] = [
      ["process_cpu_user_seconds_total", "Total user CPU time spent in seconds.", "counter", cpu.user / 1e6],
      ["process_cpu_system_seconds_total", "Total system CPU time spent in seconds.", "counter", cpu.system / 1e6],
      [
        "process_cpu_seconds_total",
        "Total user and system CPU time spent in seconds.",
        "counter",
        (cpu.user + cpu.system) / 1e6,
      ],
      [
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        "gauge",
        this.#startTime,
      ],
      ["process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", memory.rss],
      ...(fds === undefined ? [] : [["process_open_fds", "Number of open file descriptors.", "gauge", fds] as const]),
      ...(this.#maxFds === undefined
        ? []
        : [["process_max_fds", "Maximum number of open file descriptors.", "gauge", this.#maxFds] as const]),
      ["nodejs_heap_size_total_bytes", "Process heap size from Node.js in bytes.", "gauge", memory.heapTotal],
      ["nodejs_heap_size_used_bytes", "Process heap size used from Node.js in bytes.", "gauge", memory.heapUsed],
      ["nodejs_external_memory_bytes", "Node.js external memory size in bytes.", "gauge", memory.external],
      ["nodejs_eventloop_lag_min_seconds", "The minimum recorded event loop delay.", "gauge", ns(loop.min)],
      ["nodejs_eventloop_lag_max_seconds", "The maximum recorded event loop delay.", "gauge", ns(loop.max)],
      ["nodejs_eventloop_lag_mean_seconds", "The mean of the recorded event loop delays.", "gauge", ns(loop.mean)],
      [
        "nodejs_eventloop_lag_stddev_seconds",
        "The standard deviation of the recorded event loop delays.",
        "gauge",
        ns(loop.stddev),
      ],
      [
        "nodejs_eventloop_lag_p50_seconds",
        "The 50th percentile of the recorded event loop delays.",
        "gauge",
        ns(loop.percentile(50)),
      ],
      [
        "nodejs_eventloop_lag_p90_seconds",
        "The 90th percentile of the recorded event loop delays.",
        "gauge",
        ns(loop.percentile(90)),
      ],
      [
        "nodejs_eventloop_lag_p99_seconds",
        "The 99th percentile of the recorded event loop delays.",
        "gauge",
        ns(loop.percentile(99)),
      ],
    ];
    const labels = labelText(this.#labels);
    const out: string[] = [];
    for (const [name, help, type, value] of lines)
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}${labels} ${value}`);
    // The delay statistics are since the last scrape, as prom-client's (it resets after reading).
    loop.reset();
    out.push(
      "# HELP nodejs_gc_duration_seconds Garbage collection duration by kind, one of major, minor, incremental or weakcb.",
      "# TYPE nodejs_gc_duration_seconds histogram",
    );
    for (const [kind, series] of this.#gc) {
      const kindLabels = { ...this.#labels, kind };
      gcBuckets.forEach((bound, i) => {
        out.push(
          `nodejs_gc_duration_seconds_bucket${labelText({ ...kindLabels, le: String(bound) })} ${series.counts[i]}`,
        );
      });
      out.push(`nodejs_gc_duration_seconds_bucket${labelText({ ...kindLabels, le: "+Inf" })} ${series.count}`);
      out.push(`nodejs_gc_duration_seconds_sum${labelText(kindLabels)} ${series.sum}`);
      out.push(`nodejs_gc_duration_seconds_count${labelText(kindLabels)} ${series.count}`);
    }
    return out.join("\n");
  }
}
