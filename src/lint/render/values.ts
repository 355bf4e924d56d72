// A Helm values file is not a manifest: it holds the settings a chart renders objects from, and
// none of its keys is an object lint could check. Read as manifests it gave "No findings" and
// exit 0 (Headlamp's values.yaml, this project's chart's; issue 20), a green CI step that checked
// nothing. lint says what it is and the command that checks what it configures instead.
import { basename, dirname } from "node:path";
import { parseAllDocuments } from "yaml";
import { type InputProblem, missingTypeFields } from "../manifests.ts";
import { isChartDirectory } from "./helm.ts";

/** values.yaml, values-prod.yaml, prod-values.yaml, prod.values.yml: "values" as a word of the name. */
const valuesName = /(^|[-_.])values([-_.][^/]*)?\.ya?ml$/i;

/**
 * The chart folder `file` is in: its own folder or one above (examples/, ci/ values of
 * chart-testing), up to three levels; undefined when none holds a Chart.yaml.
 */
function enclosingChart(file: string): string | undefined {
  let dir = dirname(file);
  for (let level = 0; level < 3; level++) {
    if (isChartDirectory(dir)) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
  return undefined;
}

/** Whether the text is one or more YAML mappings, none with both apiVersion and kind. */
export function isPlainMapping(text: string): boolean {
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents)) return false;
  let mappings = 0;
  for (const document of documents) {
    if (document.errors.length > 0) return false;
    let body: unknown;
    try {
      body = document.toJS({ maxAliasCount: 1000 });
    } catch {
      return false;
    }
    if (body === null || body === undefined) continue;
    if (typeof body !== "object" || Array.isArray(body)) return false;
    // An object has both (manifests.ts missingTypeFields): values with a top-level `kind:`
    // (Fluent Bit's) are still values.
    if (missingTypeFields(body as Record<string, unknown>).length === 0) return false;
    mappings++;
  }
  return mappings > 0;
}

/**
 * The one line lint reports for `file` when it is a Helm values file (named for values, or in a
 * chart's folder, and holding only mappings that lack apiVersion or kind); else undefined.
 */
export function valuesFileProblem(file: string, text: string): InputProblem | undefined {
  const chart = enclosingChart(file);
  if (chart === undefined && !valuesName.test(basename(file))) return undefined;
  if (!isPlainMapping(text)) return undefined;
  const fix = "Lint the chart: lint renders it with helm template and checks what it deploys.";
  if (chart === dirname(file) && basename(file) === "values.yaml") {
    return {
      message: `${file} is the chart ${chart}'s default values, not manifests, so lint checked nothing; run: kube-oidc-gateway lint ${chart}`,
      fix,
    };
  }
  return {
    message: `${file} is a Helm values file, not manifests, so lint checked nothing; run: kube-oidc-gateway lint ${chart ?? "<chart-dir>"} -f ${file}`,
    fix,
  };
}
