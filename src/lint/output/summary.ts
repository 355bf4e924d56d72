// Counts shared by every output format.
import type { Severity } from "../finding.ts";
import type { LintReport } from "../lint.ts";

export interface Summary {
  readonly errors: number;
  readonly warnings: number;
  readonly infos: number;
  readonly files: number;
  readonly objects: number;
}

export function summarize(report: LintReport): Summary {
  const count = (severity: Severity) => report.findings.filter((f) => f.severity === severity).length;
  return {
    errors: count("error"),
    warnings: count("warning"),
    infos: count("info"),
    files: report.files,
    objects: report.objects,
  };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** "2 errors, 1 warning, 0 infos in 3 files (12 objects)". */
export function summaryLine(summary: Summary): string {
  return (
    `${plural(summary.errors, "error")}, ${plural(summary.warnings, "warning")}, ${plural(summary.infos, "info")} ` +
    `in ${plural(summary.files, "file")} (${plural(summary.objects, "object")})`
  );
}
