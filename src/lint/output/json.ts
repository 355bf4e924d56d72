// Output for programs. The shape is stable: fields are only ever added, and absent values are
// null rather than missing, so `jq '.findings[].source'` always works.

import type { GatewayError } from "../../errors.ts";
import { formatObjectRef } from "../finding.ts";
import type { LintReport } from "../lint.ts";
import { findingDocs, type OutputOptions } from "./options.ts";
import { summarize } from "./summary.ts";
import { toolName, toolVersion } from "./tool.ts";

/** The version of this JSON shape. */
export const jsonFormatVersion = 1;

export function formatJson(report: LintReport, options: OutputOptions = {}): string {
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
      // The page: its URL under --docs-base-url, else the command that prints it (never a file: URL).
      docs: findingDocs(f.ruleId, options),
    })),
    summary: summarize(report),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/**
 * The document --output=json prints when the run stops on a usage error: the same version and
 * tool, and `error` instead of findings, so standard output parses in every case.
 */
export function formatJsonError(error: GatewayError): string {
  const document = {
    version: jsonFormatVersion,
    tool: { name: toolName, version: toolVersion },
    error: { code: error.code, message: error.message },
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
