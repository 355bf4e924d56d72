// Shared by the lint tests: lint YAML text in memory, and find the lines fixtures mark with
// `# expect: <rule-id>`.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type LintConfig, parseLintConfig } from "../../src/lint/config.ts";
import type { Finding } from "../../src/lint/finding.ts";
import { type LintReport, lintSources } from "../../src/lint/lint.ts";

export const fixtures = join(import.meta.dirname, "fixtures");

/** Lints YAML given as text (one file per argument, named test-<n>.yaml). */
export function lintText(...texts: string[]): LintReport {
  return lintSources(texts.map((text, index) => ({ file: `test-${index}.yaml`, text })));
}

export function lintTextWithConfig(config: string, ...texts: string[]): LintReport {
  const parsed: LintConfig = parseLintConfig(config, "lint.yaml");
  return lintSources(
    texts.map((text, index) => ({ file: `test-${index}.yaml`, text })),
    parsed,
  );
}

export function lintFiles(files: readonly string[]): LintReport {
  return lintSources(files.map((file) => ({ file, text: readFileSync(file, "utf8") })));
}

/** The findings of one rule, as `rule@line` strings that read well in assertion failures. */
export function hitsOf(report: LintReport, ruleId?: string): string[] {
  return report.findings.filter((f) => ruleId === undefined || f.ruleId === ruleId).map((f) => `${f.ruleId}@${f.line}`);
}

export function only(report: LintReport, ruleId: string): Finding[] {
  return report.findings.filter((f) => f.ruleId === ruleId);
}

/** `rule@line` for every `# expect: rule` marker in `file`. */
export function expectedMarkers(file: string): string[] {
  return markersIn(readFileSync(file, "utf8"));
}

/** `rule@line` for every `# expect: rule` marker in YAML text. */
export function markersIn(text: string): string[] {
  return text.split("\n").flatMap((line, index) => {
    const match = /# expect: ([\w-]+)/.exec(line);
    return match ? [`${match[1]}@${index + 1}`] : [];
  });
}

/** Lines of YAML joined, so tests can write manifests without template-literal indentation. */
export const yaml = (...lines: string[]) => `${lines.join("\n")}\n`;
