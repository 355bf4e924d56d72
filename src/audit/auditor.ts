// The audit pipeline, composed from the --audit-* flags as kube-apiserver composes it
// (k8s.io/apiserver@v0.37.2 pkg/server/options/audit.go ApplyTo): a policy file and at least one
// backend, or no auditing at all. A backend without a policy records nothing, which kube-apiserver
// only says at -v=2; the gateway says it at start, because an audit log that stays empty is
// otherwise found out too late.
import type { Logger } from "../observability/logger.ts";
import { createAuditBackend } from "./backend.ts";
import { createPolicyRuleEvaluator, loadPolicyFile } from "./policy.ts";
import type { Auditor } from "./request-audit.ts";
import type { AuditConfig } from "./types.ts";

/** The policy and the running backends, or undefined when nothing is to be audited. */
export function createAuditor(config: AuditConfig, logger: Logger): Auditor | undefined {
  const backends = [config.log.path && "--audit-log-path", config.webhook.configFile && "--audit-webhook-config-file"];
  const named = backends.filter(Boolean);
  if (config.policyFile === "") {
    if (named.length > 0) {
      logger.warn("no audit events will be recorded: --audit-policy-file is not set (as in kube-apiserver)", {
        flags: named,
      });
    }
    return undefined;
  }
  // reader.go warns when it had to fall back to lenient decoding (unknown or duplicate fields).
  const policy = loadPolicyFile(config.policyFile, {
    onWarning: (message) => logger.warn("audit policy", { policy: config.policyFile, warning: message }),
  });
  const backend = createAuditBackend(config, logger);
  if (!backend) {
    logger.warn("the audit policy is loaded but no events will be recorded: no backend is set", {
      policy: config.policyFile,
      hint: "add --audit-log-path (a file, or - for standard output) or --audit-webhook-config-file",
    });
    return undefined;
  }
  backend.run();
  logger.info("auditing", { policy: config.policyFile, rules: policy.rules.length, backend: backend.toString() });
  return { evaluator: createPolicyRuleEvaluator(policy), backend };
}
