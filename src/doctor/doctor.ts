// The doctor run, top to bottom: every check in order, each bounded by its own time limit and
// the whole run by the overall one (a hung hop is reported as such, never waited on forever),
// progress reported as each check starts, and the worst result kept for the exit code.
import { docsLink } from "../docs/links.ts";
import { type Check, type CheckOutcome, type CheckResult, severity } from "./check.ts";
import { checks as allChecks } from "./checks/index.ts";
import { DoctorContext } from "./context.ts";
import type { DoctorOptions } from "./options.ts";

export interface DoctorReport {
  readonly results: readonly CheckResult[];
  readonly worst: "pass" | "warn" | "fail";
  /**
   * The root cause to fix first: the first check that failed, or the later failed check that
   * explains it (its result's causedBy).
   */
  readonly firstFailure?: string;
  readonly durationMs: number;
}

export interface RunOptions {
  /** Ids to run (all when empty). */
  readonly only?: readonly string[];
  readonly skip?: readonly string[];
  readonly onProgress?: (index: number, total: number, check: Check) => void;
}

/** A check still running at its bound: inconclusive, so a warning (something answered too slowly). */
function outOfTime(ms: number): Promise<CheckOutcome> {
  return new Promise((resolve) => {
    const timer = setTimeout(
      () =>
        resolve({
          status: "warn",
          summary: `did not finish within its time bound (${(ms / 1000).toFixed(1)}s)`,
          evidence: ["bounded by 3 × --check-timeout, or by what was left of --timeout"],
          fix: "a hop answers too slowly or not at all: see netpath; raise --check-timeout for slow links",
        }),
      ms,
    );
    timer.unref();
  });
}

export async function runDoctor(options: DoctorOptions, run: RunOptions = {}): Promise<DoctorReport> {
  const started = performance.now();
  const deadline = Date.now() + options.timeoutMs;
  const context = new DoctorContext(options);
  const selected = allChecks.filter((c) => (!run.only?.length || run.only.includes(c.id)) && !run.skip?.includes(c.id));
  const results: (CheckResult & { suspectedCause?: string })[] = [];
  try {
    for (const [index, check] of selected.entries()) {
      run.onProgress?.(index, selected.length, check);
      const checkStarted = performance.now();
      const left = deadline - Date.now();
      let outcome: CheckOutcome;
      if (left <= 0) {
        outcome = {
          status: "skipped",
          summary: `not run: the whole run's time bound (${options.timeoutMs / 1000}s) was reached`,
          evidence: [],
        };
      } else {
        // A check makes a few requests, each bounded by --check-timeout.
        const limit = Math.min(left, options.checkTimeoutMs * 3);
        outcome = await Promise.race([
          check.run(context).catch(
            (error: Error): CheckOutcome => ({
              status: "fail",
              summary: `the check itself failed: ${error.message}`,
              evidence: [error.stack?.split("\n").slice(0, 3).join(" | ") ?? ""],
              fix: "this is a doctor bug: please report it with the evidence",
            }),
          ),
          outOfTime(limit),
        ]);
      }
      results.push({
        id: check.id,
        title: check.title,
        docs: docsLink("doctor", check.id),
        durationMs: Math.round(performance.now() - checkStarted),
        ...outcome,
      });
    }
  } finally {
    context.close();
  }
  const failed = new Set(results.filter((r) => r.status === "fail").map((r) => r.id));
  const final: CheckResult[] = results.map(({ suspectedCause, ...result }) =>
    result.status === "fail" && suspectedCause && failed.has(suspectedCause)
      ? { ...result, causedBy: suspectedCause }
      : result,
  );
  const first = final.find((r) => r.status === "fail");
  const worstLevel = Math.max(0, ...final.map((r) => severity[r.status]));
  return {
    results: final,
    worst: worstLevel === 2 ? "fail" : worstLevel === 1 ? "warn" : "pass",
    firstFailure: first?.causedBy ?? first?.id,
    durationMs: Math.round(performance.now() - started),
  };
}

export const checkIds = allChecks.map((c) => c.id);
