// A Helm chart given to lint (a folder with a Chart.yaml) is rendered with `helm template`, as
// Helm would install it, and its output is what lint checks: templates are Go templates, not
// YAML, and reading them as YAML gave one syntax error per template line (2,033 for this
// project's chart; issue 20). Each rendered document is reported under its template's path in the
// chart, taken from the `# Source: <chart>/templates/x.yaml` comment helm writes before it
// (helm.sh/helm/v3@v3.22.0 pkg/action/action.go, renderResources:
// `fmt.Fprintf(b, "---\n# Source: %s\n%s\n", m.Name, m.Content)`).
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { namesCredential, redacted } from "../credentials.ts";
import { maxInputBytes } from "../inputs.ts";
import type { ManifestSource } from "../manifests.ts";
import { errorSummary, findOnPath, runTool, shellLine, unrendered } from "./tools.ts";

/** How charts are rendered: lint's --release-name, --namespace, -f/--values and --set. */
export interface HelmOptions {
  readonly releaseName?: string;
  readonly namespace?: string;
  readonly values: readonly string[];
  readonly set: readonly string[];
  /** The environment helm runs in (its PATH finds helm). */
  readonly env: NodeJS.ProcessEnv;
}

export const chartFile = "Chart.yaml";

/**
 * Whether `dir` holds a Chart.yaml that is a regular file. A pipe or device by that name is not
 * a chart (helm reads Chart.yaml whole, and reading a FIFO waits for a writer forever): the folder
 * is walked as any other, and the walk skips the pipe with a note.
 */
export const isChartDirectory = (dir: string) => isRegularFile(join(dir, chartFile));

/** Whether `path` is a regular file (following links); false for pipes, devices, folders, nothing. */
export function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The chart's name from its Chart.yaml, the default release name: charts' usual fullname helper
 * (`helm create`'s _helpers.tpl) then names objects after the chart alone, not `<release>-<chart>`.
 */
function chartName(dir: string): string {
  try {
    const file = join(dir, chartFile);
    // Only a regular file of a sane size is read: never a pipe, device or huge file.
    const info = statSync(file);
    if (!info.isFile() || info.size > maxInputBytes) return "release";
    const name = (parse(readFileSync(file, "utf8")) as { name?: unknown } | null)?.name;
    if (typeof name === "string" && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) return name;
  } catch {}
  return "release";
}

/** The words of the `helm template` command for `dir`. */
export function helmArgs(dir: string, options: HelmOptions): string[] {
  return [
    "template",
    options.releaseName ?? chartName(dir),
    dir,
    ...(options.namespace ? ["--namespace", options.namespace] : []),
    ...options.values.flatMap((file) => ["-f", file]),
    ...options.set.flatMap((value) => ["--set", value]),
  ];
}

/**
 * A --set argument as a finding may show it: the value of each `key=value` pair whose key names
 * a credential (src/lint/credentials.ts) becomes <redacted>. The pairs are read as helm's strvals
 * parser reads them (helm.sh/helm/v3@v3.22.0 pkg/strvals/parser.go: a key runs to `=`; a value
 * starting with `{` is a list up to `}`, any other runs to the next comma; a backslash escapes the
 * character after it). test/lint/render/helm.property.test.ts holds the
 * redacted line against helm's own reading of generated ones.
 */
export function redactedSet(argument: string): string {
  let i = 0;
  // The raw text up to the next unescaped character of `stops` (or the end), escapes kept.
  const until = (stops: string): string => {
    const start = i;
    while (i < argument.length && !stops.includes(argument.charAt(i))) i += argument[i] === "\\" ? 2 : 1;
    i = Math.min(i, argument.length);
    return argument.slice(start, i);
  };
  let out = "";
  while (i < argument.length) {
    const key = until("=,");
    out += key;
    if (argument[i] !== "=") {
      // A key without a value (helm refuses the whole argument): nothing to redact.
      if (i < argument.length) out += argument.charAt(i++);
      continue;
    }
    i++;
    const start = i;
    if (argument[i] === "{") {
      i++;
      until("}");
      i++;
    }
    if (i > argument.length || argument[start] !== "{") {
      // Not a list, or one that never closes (helm refuses it): a plain value, so the pairs
      // after it are still redacted (as a list it would have swallowed them, credentials and all).
      i = start;
      until(",");
    }
    // Helm drops the escapes from a key (`pass\\word` is the key password) before it is judged.
    out += `=${namesCredential(key.replace(/\\(.)/gs, "$1")) ? redacted : argument.slice(start, i)}`;
    if (argument[i] === ",") out += argument.charAt(i++);
  }
  return out;
}

/**
 * The line a user can run instead: the render piped into lint, --set credentials redacted
 * (redactedSet; helm itself is run with the values as given).
 */
export const helmCommandLine = (dir: string, options: HelmOptions) =>
  `${shellLine(["helm", ...helmArgs(dir, { ...options, set: options.set.map(redactedSet) })])} | kube-oidc-gateway lint -`;

/** The chart at `dir` rendered, one source per template; or one source with the problem that stopped it. */
export async function renderChart(dir: string, options: HelmOptions): Promise<ManifestSource[]> {
  const where = join(dir, chartFile);
  const command = helmCommandLine(dir, options);
  const helm = findOnPath("helm", options.env);
  if (helm === undefined) {
    return unrendered(
      where,
      `${dir} is a Helm chart and helm is not on PATH, so lint did not render or check it (templates are not YAML); run: ${command}`,
      "Put helm on PATH (lint then renders the chart itself), or run the command above with set -o pipefail (without it, a failing helm leaves lint only its empty input).",
    );
  }
  const result = await runTool(helm, helmArgs(dir, options), options.env, maxInputBytes);
  if (result.stopped || result.code !== 0) {
    const why = result.stopped ?? `exit ${result.code}: ${errorSummary(result.stderr)}`;
    return unrendered(
      where,
      `helm template could not render the chart ${dir} (${why}), so lint did not check it; run: ${command}`,
      "Give the chart what it asks for (a required value: -f/--values or --set on lint's command line), then lint it again.",
    );
  }
  const rendered = splitBySource(result.stdout, dir);
  // A chart that renders nothing (every template switched off) is still named, so the run's
  // "nothing to check" finding (lint.ts) says which chart gave nothing.
  return rendered.length > 0 ? rendered : [{ file: where, text: "" }];
}

const documentStart = /^---[ \t]*$/m;
const sourceLine = /^# Source: (.+)$/m;

/**
 * helm template's output as one source per template, in order of first appearance; each holds
 * that template's documents as helm printed them (`---`, `# Source:`, the document), so its
 * line numbers are those of `helm template … --show-only templates/x.yaml`.
 */
export function splitBySource(output: string, dir: string): ManifestSource[] {
  const byFile = new Map<string, string[]>();
  for (const chunk of output.split(documentStart)) {
    if (chunk.trim() === "") continue;
    const source = sourceLine.exec(chunk)?.[1]?.trim();
    // `<chart>/templates/x.yaml` → `<dir>/templates/x.yaml`: the file in the chart as the user named it.
    const file = source ? join(dir, source.split("/").slice(1).join("/")) : dir;
    const list = byFile.get(file) ?? [];
    list.push(`---${chunk.endsWith("\n") ? chunk : `${chunk}\n`}`);
    byFile.set(file, list);
  }
  return [...byFile].map(([file, chunks]) => ({ file, text: chunks.join("") }));
}
