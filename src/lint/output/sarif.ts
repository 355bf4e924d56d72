// SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html) as GitHub code
// scanning reads it: every rule in tool.driver.rules, every result pointing at its rule by id
// and index, with the real start line and column of the offending field.

import { docsLink } from "../../docs/links.ts";
import { formatObjectRef, type Severity } from "../finding.ts";
import type { LintReport } from "../lint.ts";
import { toolName, toolVersion } from "./tool.ts";

const level: Readonly<Record<Severity, "error" | "warning" | "note">> = {
  error: "error",
  warning: "warning",
  info: "note",
};

/** A relative URI reference for a path as the user named it (`<stdin>` is percent-encoded). */
function artifactUri(file: string): string {
  return encodeURI(file.replaceAll("\\", "/"));
}

export function formatSarif(report: LintReport): string {
  const ruleIndex = new Map(report.rules.map((status, index) => [status.info.id, index]));
  const sarif = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: toolName,
            version: toolVersion,
            rules: report.rules.map(({ info, enabled, severity }) => ({
              id: info.id,
              shortDescription: { text: info.title },
              fullDescription: { text: info.description },
              help: { text: info.remediation },
              helpUri: docsLink("lint", info.id),
              defaultConfiguration: { level: level[severity], enabled },
            })),
          },
        },
        columnKind: "utf16CodeUnits",
        results: report.findings.map((f) => ({
          ruleId: f.ruleId,
          ruleIndex: ruleIndex.get(f.ruleId),
          level: level[f.severity],
          message: { text: `${f.message}. Fix: ${f.fix}` },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: artifactUri(f.file) },
                region: { startLine: f.line, startColumn: f.column },
              },
              ...(f.object ? { logicalLocations: [{ name: formatObjectRef(f.object), kind: "resource" }] } : {}),
            },
          ],
          properties: { fix: f.fix, ...(f.source ? { helmTemplate: f.source } : {}) },
        })),
      },
    ],
  };
  return `${JSON.stringify(sarif, null, 2)}\n`;
}
