// The doctor report for people: one block per check, the result first, then evidence, fix and
// the command that prints the check's page (`kube-oidc-gateway explain <id>`, which works
// wherever doctor runs; with --docs-base-url the page's URL follows it); a summary naming the
// first failure, the one to fix first.
import { docsUrl, explainCommand } from "../docs/links.ts";
import type { CheckResult, CheckStatus } from "./check.ts";
import type { DoctorReport } from "./doctor.ts";

const label: Record<CheckStatus, string> = { pass: "PASS", warn: "WARN", fail: "FAIL", skipped: "SKIP" };

/** The docs line of a check: the explain command, and the page's URL when a docs base is given. */
export function doctorDocsLine(id: string, docsBaseUrl?: URL): string {
  const command = explainCommand(id);
  return docsBaseUrl ? `${command} (${docsUrl("doctor", id, docsBaseUrl)})` : command;
}

function block(result: CheckResult, verbose: boolean, docsBaseUrl: URL | undefined): string {
  const lines = [`${label[result.status]}  ${result.id}: ${result.summary}`];
  const showDetail = verbose || result.status === "fail" || result.status === "warn";
  if (showDetail) for (const line of result.evidence) lines.push(`        ${line}`);
  if (result.fix && (result.status === "fail" || result.status === "warn")) {
    lines.push(`      fix: ${result.fix}`, `      docs: ${doctorDocsLine(result.id, docsBaseUrl)}`);
  }
  return lines.join("\n");
}

export function renderDoctorReport(report: DoctorReport, verbose: boolean, docsBaseUrl?: URL): string {
  const counts = (status: CheckStatus) => report.results.filter((r) => r.status === status).length;
  const summary =
    `${counts("pass")} passed, ${counts("warn")} warned, ${counts("fail")} failed, ${counts("skipped")} skipped ` +
    `in ${(report.durationMs / 1000).toFixed(1)}s`;
  // The first failed check, or the later check it names as its cause (token-expiry failing
  // because refresh-vs-lifetime does): then the effect comes first in the list, the cause later.
  const effect = report.results.find((r) => r.status === "fail");
  const first = !report.firstFailure
    ? ""
    : effect?.causedBy === report.firstFailure
      ? `\nFix first: ${report.firstFailure} (${effect.id} failed because of it)`
      : `\nFix first: ${report.firstFailure} (the checks after it may only show its effects)`;
  return `${report.results.map((r) => block(r, verbose, docsBaseUrl)).join("\n")}\n\n${summary}${first}\n`;
}
