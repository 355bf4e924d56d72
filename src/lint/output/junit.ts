// JUnit XML for CI test reports. One <testsuite> per rule, so a report reads as "which checks
// failed": each finding is a failing <testcase> named after its file:line and object, a rule
// with no findings is one passing testcase, and a rule turned off is one skipped testcase.
import { formatObjectRef } from "../finding.ts";
import type { LintReport } from "../lint.ts";
import { findingDocs, type OutputOptions } from "./options.ts";
import { toolName } from "./tool.ts";

/** Escapes text for XML content and attributes, dropping characters XML 1.0 cannot hold. */
export function xmlEscape(text: string): string {
  return (
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters XML 1.0 forbids
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, "")
      .replaceAll("&", "&amp;")
      .replaceAll("<", "&lt;")
      .replaceAll(">", "&gt;")
      .replaceAll('"', "&quot;")
      .replaceAll("'", "&apos;")
  );
}

export function formatJunit(report: LintReport, options: OutputOptions = {}): string {
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  let skipped = 0;
  for (const { info, enabled } of report.rules) {
    const findings = report.findings.filter((f) => f.ruleId === info.id);
    const classname = xmlEscape(`lint.${info.id}`);
    const cases: string[] = [];
    if (!enabled) {
      cases.push(
        `    <testcase classname="${classname}" name="${xmlEscape(info.id)}"><skipped message="turned off in the lint configuration"/></testcase>`,
      );
    } else if (findings.length === 0) {
      cases.push(`    <testcase classname="${classname}" name="${xmlEscape(`${info.id}: no findings`)}"/>`);
    }
    for (const f of findings) {
      const name = `${f.file}:${f.line}:${f.column} ${formatObjectRef(f.object)}`;
      const body = [
        f.message,
        `fix: ${f.fix}`,
        ...(f.source ? [`source: ${f.source}`] : []),
        `docs: ${findingDocs(f.ruleId, options)}`,
      ].join("\n");
      cases.push(
        `    <testcase classname="${classname}" name="${xmlEscape(name)}" file="${xmlEscape(f.file)}" line="${f.line}">\n` +
          `      <failure type="${f.severity}" message="${xmlEscape(f.message)}">${xmlEscape(body)}</failure>\n` +
          "    </testcase>",
      );
    }
    const suiteSkipped = enabled ? 0 : 1;
    tests += cases.length;
    failures += findings.length;
    skipped += suiteSkipped;
    suites.push(
      `  <testsuite name="${xmlEscape(info.id)}" tests="${cases.length}" failures="${findings.length}" errors="0" skipped="${suiteSkipped}">\n` +
        `${cases.join("\n")}\n  </testsuite>`,
    );
  }
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<testsuites name="${xmlEscape(toolName)}" tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}">\n` +
    `${suites.join("\n")}\n</testsuites>\n`
  );
}
