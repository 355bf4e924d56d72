// A doctor check: one file each under checks/, run in the order of checks/index.ts so that a
// root cause fails before the symptoms it causes.
import type { DoctorContext } from "./context.ts";

export type CheckStatus = "pass" | "warn" | "fail" | "skipped";

export interface CheckOutcome {
  readonly status: CheckStatus;
  /** One line: what was found. For skipped checks: why they did not run. */
  readonly summary: string;
  /** The facts the summary rests on, one per line. */
  readonly evidence: readonly string[];
  /** What to change, for warn and fail. */
  readonly fix?: string;
  /**
   * For a failure that may be the effect of what a later check finds (an expired token of a
   * session that never refreshes): that check's id. When it fails too, it is the one to fix
   * first, and the result says `causedBy`.
   */
  readonly suspectedCause?: string;
}

export interface Check {
  readonly id: string;
  readonly title: string;
  /** Shown while the check runs, for the slow ones ("connecting to the issuer"). */
  readonly progress: string;
  run(context: DoctorContext): Promise<CheckOutcome>;
}

export interface CheckResult extends Omit<CheckOutcome, "suspectedCause"> {
  readonly id: string;
  /** The later check that failed too and explains this failure (see CheckOutcome.suspectedCause). */
  readonly causedBy?: string;
  readonly title: string;
  readonly docs: string;
  readonly durationMs: number;
}

export const severity: Record<CheckStatus, number> = { skipped: 0, pass: 0, warn: 1, fail: 2 };

export const pass = (summary: string, evidence: readonly string[] = []): CheckOutcome => ({
  status: "pass",
  summary,
  evidence,
});
export const skipped = (summary: string, evidence: readonly string[] = []): CheckOutcome => ({
  status: "skipped",
  summary,
  evidence,
});
export const warn = (summary: string, evidence: readonly string[], fix: string): CheckOutcome => ({
  status: "warn",
  summary,
  evidence,
  fix,
});
export const fail = (
  summary: string,
  evidence: readonly string[],
  fix: string,
  suspectedCause?: string,
): CheckOutcome => ({
  status: "fail",
  summary,
  evidence,
  fix,
  ...(suspectedCause ? { suspectedCause } : {}),
});
