// Not a check of its own: the finding lint reports for a document that does not parse, so the
// run goes on with the other documents and the broken one still fails CI.
import type { RuleInfo } from "../rule.ts";

export const yamlSyntax: RuleInfo = {
  id: "yaml-syntax",
  severity: "error",
  title: "document is not valid YAML (the other documents are still checked)",
  description:
    "A document of the input does not parse as YAML (or JSON): kubectl and Helm would refuse it, and lint cannot " +
    "check it. Duplicate keys count, as the API server's strict decoding rejects them.",
  remediation: "Fix the syntax at the reported line; `kubectl apply --dry-run=client -f <file>` shows the same error.",
};
