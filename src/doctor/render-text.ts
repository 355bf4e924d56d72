// The doctor report for people: one block per check, the result first, then evidence, fix and
// the docs page; a summary naming the first failure, the one to fix first.
import type { CheckResult, CheckStatus } from "./check.ts";
import type { DoctorReport } from "./doctor.ts";

const label: Record<CheckStatus, string> = { pass: "PASS", warn: "WARN", fail: "FAIL", skipped: "SKIP" };

function block(result: CheckResult, verbose: boolean): string {
  const lines = [`${label[result.status]}  ${result.id}: ${result.summary}`];
  const showDetail = verbose || result.status === "fail" || result.status === "warn";
  if (showDetail) for (const line of result.evidence) lines.push(`        ${line}`);
  if (result.fix && (result.status === "fail" || result.status === "warn")) {
    lines.push(`      fix: ${result.fix}`, `      docs: ${result.docs}`);
  }
  return lines.join("\n");
}

export function renderDoctorReport(report: DoctorReport, verbose: boolean): string {
  const counts = (status: CheckStatus) => report.results.filter((r) => r.status === status).length;
  const summary =
    `${counts("pass")} passed, ${counts("warn")} warned, ${counts("fail")} failed, ${counts("skipped")} skipped ` +
    `in ${(report.durationMs / 1000).toFixed(1)}s`;
  const first = report.firstFailure
    ? `\nFix first: ${report.firstFailure} (the checks after it may only show its effects)`
    : "";
  return `${report.results.map((r) => block(r, verbose)).join("\n")}\n\n${summary}${first}\n`;
}
