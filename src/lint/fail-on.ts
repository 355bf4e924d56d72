// --fail-on: the severity from which findings make the run fail (exit code 1).
import { LintError } from "./errors.ts";
import { type Finding, type Severity, severityRank } from "./finding.ts";

export type FailOn = Severity | "never";

export const failOnValues: readonly FailOn[] = ["error", "warning", "info", "never"];

export function parseFailOn(text: string): FailOn {
  if ((failOnValues as readonly string[]).includes(text)) return text as FailOn;
  throw new LintError(
    "LINT_INVALID_FAIL_ON",
    `--fail-on: ${JSON.stringify(text)} is not one of ${failOnValues.join(", ")}`,
  );
}

/** 1 when a finding is at or above the threshold, else 0. */
export function exitCodeFor(findings: readonly Finding[], failOn: FailOn): 0 | 1 {
  if (failOn === "never") return 0;
  return findings.some((f) => severityRank[f.severity] >= severityRank[failOn]) ? 1 : 0;
}
