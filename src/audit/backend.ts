// The audit backend from the --audit-* flags, composed as kube-apiserver composes it
// (k8s.io/apiserver@v0.37.2 pkg/server/options/audit.go ApplyTo, AuditLogOptions.newBackend,
// AuditWebhookOptions.newUntruncatedBackend, appendBackend): without a policy file nothing is
// recorded, so no backend; the log backend (--audit-log-path) and the webhook backend
// (--audit-webhook-config-file) each wrapped in their mode (blocking.ts) then in truncation when
// enabled; both present: their union, log first.
import { ConfigError } from "../config/errors.ts";
import type { Logger } from "../observability/logger.ts";
import { wrapBackend } from "./backends/blocking.ts";
import { type LineWriter, LogBackend, standardOutput } from "./backends/log.ts";
import { RotatingFile } from "./backends/rotating-file.ts";
import { TruncateBackend } from "./backends/truncate.ts";
import { union } from "./backends/union.ts";
import { WebhookBackend } from "./backends/webhook.ts";
import type { AuditBackend, AuditConfig } from "./types.ts";

/** Throws ConfigError when the log file cannot be created or the webhook's kubeconfig is unusable. */
export function createAuditBackend(config: AuditConfig, logger: Logger): AuditBackend | undefined {
  if (!config.policyFile) return undefined;
  const backends: AuditBackend[] = [];
  const { log, webhook } = config;
  if (log.path) {
    let out: LineWriter;
    if (log.path === "-") out = standardOutput;
    else {
      try {
        out = new RotatingFile(log.path, log);
      } catch (error) {
        throw new ConfigError(
          "AUDIT_LOG_UNWRITABLE",
          `--audit-log-path ${log.path}: ${(error as Error).message}; give a file the gateway may create and write`,
        );
      }
    }
    let backend: AuditBackend = new LogBackend(out, log.format, logger);
    backend = wrapBackend(backend, log.mode, log.batch, false, logger);
    if (log.truncate.enabled) backend = new TruncateBackend(backend, log.truncate, logger);
    backends.push(backend);
  }
  if (webhook.configFile) {
    let backend: AuditBackend = new WebhookBackend({
      configFile: webhook.configFile,
      initialBackoffMs: webhook.initialBackoffMs,
      logger,
    });
    backend = wrapBackend(backend, webhook.mode, webhook.batch, true, logger);
    if (webhook.truncate.enabled) backend = new TruncateBackend(backend, webhook.truncate, logger);
    backends.push(backend);
  }
  return backends.length > 0 ? union(...backends) : undefined;
}
