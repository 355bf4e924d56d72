// Not a check of its own: the finding lint reports for an input it could not check as Kubernetes
// objects — a chart or kustomization it could not render, a Helm values file, a document with
// neither apiVersion nor kind, binary data. Such an input used to pass as "No findings" (issue 20):
// an error, so a CI job that lints the wrong file fails instead of passing green.
import type { RuleInfo } from "../rule.ts";

export const unreadInput: RuleInfo = {
  id: "unread-input",
  severity: "error",
  title: "input is not Kubernetes objects lint can check (the other inputs are still checked)",
  description:
    "An input lint was given is not manifests it can check: a Helm chart or kustomization it could not render " +
    "(helm, kustomize or kubectl missing from PATH, or the render failed), a Helm values file, a document with " +
    "neither apiVersion nor kind, or binary data. Nothing in it was checked.",
  remediation:
    "Give lint the manifests, the chart folder (with -f/--values and --set) or the kustomization; the finding names the command to run.",
};
