// Per-object lint settings, as annotations on the object (or on a workload's pod template, which
// Helm charts often expose when they do not expose the workload's own):
//
//   lint.kube-oidc-gateway.io/disable: "rule-a,rule-b"
//   lint.kube-oidc-gateway.io/severity: "rule-a=info,rule-b=error"
//
// Every rule id may be named, unknown-rule included (it is reported on the annotated object).
// yaml-syntax cannot be: its findings are about documents that did not parse, which have no
// annotations to read, so naming it is reported as having no effect rather than ignored.
import { type Severity, severities } from "./finding.ts";
import type { ManifestObject, Path } from "./manifests.ts";
import { asRecord, at, stringMap, workloadOf } from "./objects.ts";

export const disableAnnotation = "lint.kube-oidc-gateway.io/disable";
export const severityAnnotation = "lint.kube-oidc-gateway.io/severity";

export interface AnnotationProblem {
  readonly path: Path;
  readonly message: string;
}

export interface ObjectOverrides {
  readonly disabled: ReadonlySet<string>;
  readonly severities: ReadonlyMap<string, Severity>;
  readonly problems: readonly AnnotationProblem[];
}

function annotationSources(object: ManifestObject): { path: Path; annotations: Record<string, string> }[] {
  const sources: { path: Path; annotations: Record<string, string> }[] = [];
  const workload = workloadOf(object);
  if (workload && object.kind !== "Pod") {
    const templatePath = workload.specPath.slice(0, -1);
    const annotations = stringMap(asRecord(at(object.body, [...templatePath, "metadata"])).annotations);
    sources.push({ path: [...templatePath, "metadata", "annotations"], annotations });
  }
  // The object's own annotations come last so they win.
  sources.push({
    path: ["metadata", "annotations"],
    annotations: stringMap(asRecord(object.body.metadata).annotations),
  });
  return sources;
}

const list = (text: string) =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");

/** Rule ids whose findings belong to no object, so per-object annotations cannot reach them. */
const notPerObject: Readonly<Record<string, string>> = {
  "yaml-syntax":
    "yaml-syntax findings are about documents that do not parse, which have no annotations; use " +
    "`rules: {yaml-syntax: off}` (or a severity) in --lint-config instead",
  "unread-input":
    "unread-input findings are about inputs that are no Kubernetes objects, which have no annotations; use " +
    "`rules: {unread-input: off}` (or a severity) in --lint-config instead",
};

export function objectOverrides(object: ManifestObject, knownIds: readonly string[]): ObjectOverrides {
  const disabled = new Set<string>();
  const severityOf = new Map<string, Severity>();
  const problems: AnnotationProblem[] = [];
  for (const { path, annotations } of annotationSources(object)) {
    const disable = annotations[disableAnnotation];
    if (disable !== undefined) {
      for (const id of list(disable)) {
        if (notPerObject[id])
          problems.push({ path: [...path, disableAnnotation], message: noEffect(disableAnnotation, id) });
        else if (knownIds.includes(id)) disabled.add(id);
        else problems.push({ path: [...path, disableAnnotation], message: unknownIdMessage(disableAnnotation, id) });
      }
    }
    const regrade = annotations[severityAnnotation];
    if (regrade !== undefined) {
      for (const pair of list(regrade)) {
        const [id = "", severity = ""] = pair.split("=").map((s) => s.trim());
        if (notPerObject[id]) {
          problems.push({ path: [...path, severityAnnotation], message: noEffect(severityAnnotation, id) });
        } else if (!knownIds.includes(id)) {
          problems.push({ path: [...path, severityAnnotation], message: unknownIdMessage(severityAnnotation, id) });
        } else if (!severities.includes(severity as Severity)) {
          problems.push({
            path: [...path, severityAnnotation],
            message: `${severityAnnotation}: ${JSON.stringify(pair)} is not rule-id=info|warning|error; ignored`,
          });
        } else {
          severityOf.set(id, severity as Severity);
        }
      }
    }
  }
  return { disabled, severities: severityOf, problems };
}

function noEffect(annotation: string, id: string): string {
  return `${annotation} names ${id}, which it cannot apply: ${notPerObject[id]}; it has no effect`;
}

function unknownIdMessage(annotation: string, id: string): string {
  return `${annotation} names ${JSON.stringify(id)}, which is not a lint rule id; it has no effect`;
}
