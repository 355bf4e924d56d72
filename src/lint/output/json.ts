// Output for programs. The shape is stable: fields are only ever added, and absent values are
// null rather than missing, so `jq '.findings[].source'` always works.
import { formatObjectRef } from "../finding.ts";
import type { LintReport } from "../lint.ts";
import { summarize } from "./summary.ts";
import { toolName, toolVersion } from "./tool.ts";

/** The version of this JSON shape. */
export const jsonFormatVersion = 1;

export function formatJson(report: LintReport): string {
  const document = {
    version: jsonFormatVersion,
    tool: { name: toolName, version: toolVersion },
    findings: report.findings.map((f) => ({
      ruleId: f.ruleId,
      severity: f.severity,
      file: f.file,
      line: f.line,
      column: f.column,
      source: f.source ?? null,
      object: f.object
        ? {
            apiVersion: f.object.apiVersion,
            kind: f.object.kind,
            namespace: f.object.namespace ?? null,
            name: f.object.name,
          }
        : null,
      objectRef: f.object ? formatObjectRef(f.object) : null,
      message: f.message,
      fix: f.fix,
      docs: f.docs,
    })),
    summary: summarize(report),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
