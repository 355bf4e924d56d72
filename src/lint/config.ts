// The lint configuration file (--lint-config):
//
//   rules:
//     cookie-refresh: off          # off | info | warning | error
//     rbac-subject-prefix: error
//   tokenLifetime: 5m              # the issuer's access token lifetime, for cookie-refresh
//
// Mistakes stop the run (exit 2): a config that silently does nothing is worse than none.
import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import { parseDuration } from "../config/flags.ts";
import { LintError } from "./errors.ts";
import { type Severity, severities } from "./finding.ts";
import { isRecord } from "./manifests.ts";
import { allRules } from "./rules/index.ts";

export type RuleSetting = Severity | "off";

export interface LintConfig {
  readonly rules: ReadonlyMap<string, RuleSetting>;
  readonly tokenLifetimeMs: number | undefined;
}

export const defaultLintConfig: LintConfig = { rules: new Map(), tokenLifetimeMs: undefined };

const knownIds = () => allRules.map((r) => r.id);

export function parseLintConfig(text: string, file: string): LintConfig {
  let document: unknown;
  try {
    document = parse(text, { uniqueKeys: true });
  } catch (error) {
    throw new LintError("LINT_CONFIG_INVALID", `${file}: not valid YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  if (document === null || document === undefined) return defaultLintConfig;
  if (!isRecord(document))
    throw new LintError("LINT_CONFIG_INVALID", `${file}: expected a mapping with rules and tokenLifetime`);
  for (const key of Object.keys(document)) {
    if (key !== "rules" && key !== "tokenLifetime") {
      throw new LintError(
        "LINT_CONFIG_INVALID",
        `${file}: unknown setting ${JSON.stringify(key)} (known: rules, tokenLifetime)`,
      );
    }
  }
  const rules = new Map<string, RuleSetting>();
  const rawRules = document.rules ?? {};
  if (!isRecord(rawRules))
    throw new LintError("LINT_CONFIG_INVALID", `${file}: rules must map rule ids to off|info|warning|error`);
  for (const [id, raw] of Object.entries(rawRules)) {
    if (!knownIds().includes(id)) {
      throw new LintError(
        "LINT_UNKNOWN_RULE",
        `${file}: unknown rule id ${JSON.stringify(id)}; known ids: ${knownIds().join(", ")}`,
      );
    }
    // YAML 1.1 readers turn a bare `off` into false; accept that spelling too.
    const setting = raw === false ? "off" : raw;
    if (setting !== "off" && !severities.includes(setting as Severity)) {
      throw new LintError(
        "LINT_CONFIG_INVALID",
        `${file}: rules.${id}: ${JSON.stringify(raw)} is not one of off, info, warning, error`,
      );
    }
    rules.set(id, setting as RuleSetting);
  }
  let tokenLifetimeMs: number | undefined;
  if (document.tokenLifetime !== undefined) {
    try {
      tokenLifetimeMs = parseDuration(String(document.tokenLifetime));
    } catch (error) {
      throw new LintError("LINT_CONFIG_INVALID", `${file}: tokenLifetime: ${(error as Error).message}`);
    }
    if (tokenLifetimeMs <= 0) throw new LintError("LINT_CONFIG_INVALID", `${file}: tokenLifetime must be positive`);
  }
  return { rules, tokenLifetimeMs };
}

export async function loadLintConfig(file: string): Promise<LintConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new LintError("LINT_CONFIG_UNREADABLE", `--lint-config ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseLintConfig(text, file);
}
