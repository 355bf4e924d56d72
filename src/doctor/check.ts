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
}

export interface Check {
  readonly id: string;
  readonly title: string;
  /** Shown while the check runs, for the slow ones ("connecting to the issuer"). */
  readonly progress: string;
  run(context: DoctorContext): Promise<CheckOutcome>;
}

export interface CheckResult extends CheckOutcome {
  readonly id: string;
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
export const fail = (summary: string, evidence: readonly string[], fix: string): CheckOutcome => ({
  status: "fail",
  summary,
  evidence,
  fix,
});
