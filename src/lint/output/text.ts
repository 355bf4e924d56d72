// Output for people: findings grouped by file, each as
//   file:line:col severity rule-id Kind namespace/name: message
// followed by the template it came from (helm template input), the fix and the docs page.
import { formatObjectRef } from "../finding.ts";
import type { LintReport } from "../lint.ts";
import { summarize, summaryLine } from "./summary.ts";

export function formatText(report: LintReport): string {
  const lines: string[] = [];
  const files = [...new Set(report.findings.map((f) => f.file))];
  for (const file of files) {
    lines.push(file);
    for (const f of report.findings.filter((finding) => finding.file === file)) {
      lines.push(
        `  ${f.file}:${f.line}:${f.column} ${f.severity} ${f.ruleId} ${formatObjectRef(f.object)}: ${f.message}`,
      );
      if (f.source) lines.push(`      source: ${f.source}`);
      lines.push(`      fix: ${f.fix}`);
      lines.push(`      docs: ${f.docs}`);
    }
    lines.push("");
  }
  lines.push(
    report.findings.length === 0 ? `No findings: ${summaryLine(summarize(report))}` : summaryLine(summarize(report)),
  );
  return `${lines.join("\n")}\n`;
}
