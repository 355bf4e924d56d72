// Output for people: findings grouped by file, each as
//   file:line:col severity rule-id Kind namespace/name: message
// followed by the template it came from (helm template input), the fix and the command that
// prints the rule's page (`kube-oidc-gateway explain <rule-id>`).
//
// Names and values in messages come from the manifests, so a terminal would otherwise obey
// whatever escape sequences or bidirectional overrides they hold (CVE-2021-42574, "Trojan
// Source"). Every C0 and C1 control, DEL and the bidi embedding, override and isolate
// characters (U+202A–U+202E, U+2066–U+2069) are written as visible escapes instead.

import { explainCommand } from "../../docs/links.ts";
import { formatObjectRef } from "../finding.ts";
import type { LintReport } from "../lint.ts";
import type { OutputOptions } from "./options.ts";
import { findingDocs } from "./options.ts";
import { summarize, summaryLine } from "./summary.ts";

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const unsafe = /[\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g;

/** `\x1b`, `\n`, `\u202e`: the character's code, so it is seen rather than acted on. */
export function escapeControls(text: string): string {
  return text.replace(unsafe, (c) => {
    const code = c.charCodeAt(0);
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/**
 * The command that prints the rule's page, which works wherever lint runs; with --docs-base-url
 * the page's URL follows it.
 */
export function docsLine(ruleId: string, options: OutputOptions): string {
  const command = explainCommand(ruleId);
  return escapeControls(options.docsBaseUrl ? `${command} (${findingDocs(ruleId, options)})` : command);
}

export function formatText(report: LintReport, options: OutputOptions = {}): string {
  const lines: string[] = [];
  const files = [...new Set(report.findings.map((f) => f.file))];
  for (const file of files) {
    lines.push(escapeControls(file));
    for (const f of report.findings.filter((finding) => finding.file === file)) {
      lines.push(
        escapeControls(
          `  ${f.file}:${f.line}:${f.column} ${f.severity} ${f.ruleId} ${formatObjectRef(f.object)}: ${f.message}`,
        ),
      );
      if (f.source) lines.push(`      source: ${escapeControls(f.source)}`);
      lines.push(`      fix: ${escapeControls(f.fix)}`);
      lines.push(`      docs: ${docsLine(f.ruleId, options)}`);
    }
    lines.push("");
  }
  lines.push(
    report.findings.length === 0 ? `No findings: ${summaryLine(summarize(report))}` : summaryLine(summarize(report)),
  );
  return `${lines.join("\n")}\n`;
}
