// A lint run, top to bottom: parse the manifests, report what does not parse, run every enabled
// rule over all objects, apply the configuration's and the objects' own severities, and sort.
import { docsLink } from "../docs/links.ts";
import { objectOverrides } from "./annotations.ts";
import { defaultLintConfig, type LintConfig } from "./config.ts";
import { type Finding, type Severity, severityRank } from "./finding.ts";
import { stdinName } from "./inputs.ts";
import { loadManifests, type ManifestObject, type ManifestSource, type SyntaxProblem } from "./manifests.ts";
import type { Rule, RuleHit, RuleInfo } from "./rule.ts";
import { allRules, rules } from "./rules/index.ts";
import { unknownRule } from "./rules/unknown-rule.ts";
import { unreadInput } from "./rules/unread-input.ts";
import { yamlSyntax } from "./rules/yaml-syntax.ts";

/** A rule as this run applies it. */
export interface RuleStatus {
  readonly info: RuleInfo;
  readonly enabled: boolean;
  /** The configured severity (findings may still be re-graded per object). */
  readonly severity: Severity;
}

export interface LintReport {
  readonly findings: readonly Finding[];
  readonly files: number;
  readonly objects: number;
  readonly rules: readonly RuleStatus[];
  /** Walked files skipped as holding no Kubernetes object, for standard error. */
  readonly notes?: readonly string[];
}

export function lintSources(sources: readonly ManifestSource[], config: LintConfig = defaultLintConfig): LintReport {
  const { objects, syntaxProblems, notes } = loadManifests(sources);
  const statuses = ruleStatuses(config);
  const status = (id: string) => statuses.find((s) => s.info.id === id) as RuleStatus;
  const findings: Finding[] = [];
  for (const problem of syntaxProblems) {
    const rule = problem.unread ? unreadInput : yamlSyntax;
    const { enabled, severity } = status(rule.id);
    if (enabled) findings.push(syntaxFinding(rule, problem, severity));
  }
  // Review of issue 20: a run that held no object at all passed as "No findings (0 objects)".
  // `helm template … | kube-oidc-gateway lint -` in a shell without `set -o pipefail` takes lint's
  // exit status only, and a helm that fails prints nothing on standard output, so an empty input
  // made the step green having checked nothing. Nothing to check is an unread-input error of its
  // own (one line), unless the inputs already gave a finding for what could not be read.
  if (objects.length === 0 && syntaxProblems.length === 0) {
    const { enabled, severity } = status(unreadInput.id);
    if (enabled) findings.push(syntaxFinding(unreadInput, nothingToCheck(sources), severity));
  }
  const knownIds = allRules.map((r) => r.id);
  const overrides = new Map(objects.map((object) => [object, objectOverrides(object, knownIds)]));
  if (status(unknownRule.id).enabled) {
    for (const [object, { problems, disabled, severities }] of overrides) {
      // The annotated object's own annotations apply to unknown-rule as to any rule.
      if (disabled.has(unknownRule.id)) continue;
      for (const problem of problems) {
        findings.push(
          toFinding(unknownRule, severities.get(unknownRule.id) ?? status(unknownRule.id).severity, {
            object,
            path: problem.path,
            message: problem.message,
            fix: unknownRule.remediation,
          }),
        );
      }
    }
  }
  for (const rule of rules) {
    const { enabled, severity } = status(rule.id);
    if (!enabled) continue;
    for (const hit of rule.check({ objects, tokenLifetimeMs: config.tokenLifetimeMs })) {
      const own = overrides.get(hit.object);
      if (own?.disabled.has(rule.id)) continue;
      // The object's annotation beats the config file, which beats the rule's own grading; a
      // hit's ceiling caps the latter two (the annotation names this object, so it is meant).
      const general = config.rules.has(rule.id) ? severity : (hit.severity ?? severity);
      const capped = hit.ceiling && severityRank[hit.ceiling] < severityRank[general] ? hit.ceiling : general;
      const graded = own?.severities.get(rule.id) ?? capped;
      findings.push(toFinding(rule, graded, hit));
    }
  }
  return {
    findings: sortFindings(unique(findings), sources),
    files: sources.length,
    objects: objects.length,
    rules: statuses,
    notes,
  };
}

/** The one finding of a run whose inputs hold no Kubernetes object. */
function nothingToCheck(sources: readonly ManifestSource[]): SyntaxProblem {
  const names = [...new Set(sources.map((s) => s.file))];
  const what =
    names.length === 0
      ? "the inputs"
      : names.length <= 3
        ? names.map((name) => (name === stdinName ? "standard input" : name)).join(", ")
        : `${names.slice(0, 3).join(", ")} and ${names.length - 3} more`;
  return {
    // No source at all (every unit of a walk left to another): the working folder stands in.
    file: names[0] ?? ".",
    line: 1,
    column: 1,
    source: undefined,
    message: `nothing to check: no Kubernetes object in ${what}`,
    fix: "Name the manifests, chart or kustomization to check. A render piped in that failed reaches lint as empty input: lint the chart or kustomization itself (kube-oidc-gateway lint <dir>), or pipe with set -o pipefail so the step fails when the render does.",
    unread: true,
  };
}

function ruleStatuses(config: LintConfig): RuleStatus[] {
  return allRules.map((info) => {
    const setting = config.rules.get(info.id);
    return {
      info,
      enabled: setting !== "off",
      severity: setting === undefined || setting === "off" ? info.severity : setting,
    };
  });
}

function syntaxFinding(rule: RuleInfo, problem: SyntaxProblem, severity: Severity): Finding {
  return {
    ruleId: rule.id,
    severity,
    file: problem.file,
    line: problem.line,
    column: problem.column,
    source: problem.source,
    object: undefined,
    message: problem.message,
    fix: problem.fix ?? rule.remediation,
    docs: docsLink("lint", rule.id),
  };
}

function toFinding(rule: Rule | RuleInfo, severity: Severity, hit: RuleHit): Finding {
  const object: ManifestObject = hit.object;
  const { line, column } = hit.position ?? object.position(hit.path);
  return {
    ruleId: rule.id,
    severity,
    file: object.file,
    line,
    column,
    source: object.source,
    object: { apiVersion: object.apiVersion, kind: object.kind, name: object.name, namespace: object.namespace },
    message: hit.message,
    fix: hit.fix,
    docs: docsLink("lint", rule.id),
  };
}

function unique(findings: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = [f.ruleId, f.file, f.line, f.column, f.message].join("\u0000");
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** In input order of files, then by position. */
function sortFindings(findings: Finding[], sources: readonly ManifestSource[]): Finding[] {
  const order = new Map(sources.map((s, index) => [s.file, index]));
  return findings.sort(
    (a, b) =>
      (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) ||
      a.line - b.line ||
      a.column - b.column ||
      a.ruleId.localeCompare(b.ruleId),
  );
}
