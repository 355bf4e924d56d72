// A kustomization given to lint is built as `kubectl apply -k` would build it, and the build's
// output is what lint checks. The files it references are patches and partial objects that mean
// nothing alone, so they are not read on their own as well (see inputs.ts). kustomize names
// the file of a kustomization `kustomization.yaml`, `kustomization.yml` or `Kustomization`
// (sigs.k8s.io/kustomize/api@v0.21.1 konfig/general.go, RecognizedKustomizationFileNames).
import { join } from "node:path";
import { maxInputBytes } from "../inputs.ts";
import type { ManifestSource } from "../manifests.ts";
import { isRegularFile } from "./helm.ts";
import { errorSummary, findOnPath, runTool, shellLine, unrendered } from "./tools.ts";

export const kustomizationFileNames: readonly string[] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/** The kustomization file in `dir` (a regular file: a pipe by that name is not one), or undefined. */
export function kustomizationIn(dir: string): string | undefined {
  return kustomizationFileNames.map((name) => join(dir, name)).find((file) => isRegularFile(file));
}

/**
 * The kustomization in `dir` built by `kustomize build`, else `kubectl kustomize` (kubectl embeds
 * kustomize since v1.14), as one source named after the kustomization file; or one source with the problem.
 */
export async function renderKustomization(dir: string, env: NodeJS.ProcessEnv): Promise<ManifestSource[]> {
  const kustomize = findOnPath("kustomize", env);
  const kubectl = kustomize ? undefined : findOnPath("kubectl", env);
  const args = kustomize ? ["build", dir] : ["kustomize", dir];
  const name = kustomize ? "kustomize" : "kubectl";
  const command = (tool: string, words: string[]) => `${shellLine([tool, ...words])} | kube-oidc-gateway lint -`;
  const where = kustomizationIn(dir) ?? dir;
  const binary = kustomize ?? kubectl;
  if (binary === undefined) {
    return unrendered(
      where,
      `${dir} is a kustomization and neither kustomize nor kubectl is on PATH, so lint did not build or check it; run: ${command("kustomize", ["build", dir])}`,
      `Put kustomize or kubectl on PATH (lint then builds it itself), or run the command above (or ${command("kubectl", ["kustomize", dir])}) with set -o pipefail (without it, a failing build leaves lint only its empty input).`,
    );
  }
  const result = await runTool(binary, args, env, maxInputBytes);
  if (result.stopped || result.code !== 0) {
    const why = result.stopped ?? `exit ${result.code}: ${errorSummary(result.stderr)}`;
    return unrendered(
      where,
      `${name} could not build the kustomization ${dir} (${why}), so lint did not check it; run: ${command(name, args)}`,
      "Fix what the build reports, then lint it again.",
    );
  }
  // Findings name the kustomization file, not its folder: SARIF viewers (GitHub code scanning)
  // place an annotation on a file and drop one on a folder. Their lines are of the build's
  // output, which exists in no file, so the source says so and names the command that prints it.
  return [
    { file: where, text: result.stdout, source: `${shellLine([name, ...args])} output (the line is of this output)` },
  ];
}
