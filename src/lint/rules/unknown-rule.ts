// Not a check of its own: the finding lint reports for an annotation naming a rule id it does
// not know, so a typo does not silently leave a rule enabled.
import type { RuleInfo } from "../rule.ts";

export const unknownRule: RuleInfo = {
  id: "unknown-rule",
  severity: "warning",
  title: "lint annotation names a rule id that does not exist",
  description:
    "A lint.kube-oidc-gateway.io/disable or lint.kube-oidc-gateway.io/severity annotation names a rule id lint " +
    "does not know (a typo, or a rule of another version); the annotation has no effect for that id.",
  remediation: "Use an id from `kube-oidc-gateway lint --help` (or docs/lint/README.md).",
};
