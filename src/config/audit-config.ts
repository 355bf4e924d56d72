// kube-apiserver's --audit-* flags, validated as kube-apiserver validates them
// (k8s.io/apiserver@v0.37.2 pkg/server/options/audit.go AuditOptions.Validate): a backend's
// options are checked only when that backend is on (--audit-log-path, --audit-webhook-config-file),
// batch options only in batch mode, throttle options only when throttling is on. The messages are
// kube-apiserver's, with the flag named.
import type { AuditConfig, BackendMode, BatchConfig, TruncateConfig } from "../audit/types.ts";
import { ConfigError } from "./errors.ts";
import type { FlagValues } from "./flags.ts";

const modes: readonly BackendMode[] = ["batch", "blocking", "blocking-strict"];
// pkg/server/options/audit.go knownGroupVersions: audit.k8s.io/v1 alone since Kubernetes 1.24.
const groupVersions = ["audit.k8s.io/v1"];

const invalid = (message: string) => new ConfigError("INVALID_FLAG_VALUE", message);

function mode(plugin: string, value: string): BackendMode {
  if ((modes as readonly string[]).includes(value)) return value as BackendMode;
  throw invalid(
    `--audit-${plugin}-mode: invalid audit ${plugin} mode ${value}, allowed modes are "${modes.join(",")}"`,
  );
}

/** validateBackendBatchOptions: only what batch mode reads is checked, and only in batch mode. */
function batch(plugin: string, backendMode: BackendMode, values: FlagValues): BatchConfig {
  const flag = (name: string) => values[`audit-${plugin}-batch-${name}`];
  const qpsText = String(flag("throttle-qps"));
  const throttleQps = Number(qpsText);
  const config: BatchConfig = {
    bufferSize: flag("buffer-size") as number,
    maxBatchSize: flag("max-size") as number,
    maxBatchWaitMs: flag("max-wait") as number,
    throttleEnable: flag("throttle-enable") === true,
    throttleQps,
    throttleBurst: flag("throttle-burst") as number,
  };
  if (qpsText.trim() === "" || !Number.isFinite(throttleQps)) {
    throw invalid(`--audit-${plugin}-batch-throttle-qps: not a number: ${qpsText}`);
  }
  if (backendMode !== "batch") return config;
  if (config.bufferSize <= 0) {
    throw invalid(
      `--audit-${plugin}-batch-buffer-size: invalid audit batch ${plugin} buffer size ${config.bufferSize}, must be a positive number`,
    );
  }
  if (config.maxBatchSize <= 0) {
    throw invalid(
      `--audit-${plugin}-batch-max-size: invalid audit batch ${plugin} max batch size ${config.maxBatchSize}, must be a positive number`,
    );
  }
  if (config.throttleEnable) {
    if (config.throttleQps <= 0) {
      throw invalid(
        `--audit-${plugin}-batch-throttle-qps: invalid audit batch ${plugin} throttle QPS ${qpsText}, must be a positive number`,
      );
    }
    if (config.throttleBurst <= 0) {
      throw invalid(
        `--audit-${plugin}-batch-throttle-burst: invalid audit batch ${plugin} throttle burst ${config.throttleBurst}, must be a positive number`,
      );
    }
  }
  return config;
}

const truncateValues = (plugin: string, values: FlagValues): TruncateConfig => ({
  enabled: values[`audit-${plugin}-truncate-enabled`] === true,
  maxBatchSize: values[`audit-${plugin}-truncate-max-batch-size`] as number,
  maxEventSize: values[`audit-${plugin}-truncate-max-event-size`] as number,
});

/** AuditTruncateOptions.Validate (checked whether or not truncation is enabled, as there). */
function truncate(plugin: string, values: FlagValues): TruncateConfig {
  const config = truncateValues(plugin, values);
  if (config.maxEventSize <= 0) {
    throw invalid(
      `--audit-${plugin}-truncate-max-event-size: invalid audit truncate ${plugin} max event size ${config.maxEventSize}, must be a positive number`,
    );
  }
  if (config.maxBatchSize < config.maxEventSize) {
    throw invalid(
      `--audit-${plugin}-truncate-max-batch-size: invalid audit truncate ${plugin} max batch size ${config.maxBatchSize}, must be greater than max event size (${config.maxEventSize})`,
    );
  }
  return config;
}

function groupVersion(plugin: string, value: string): string {
  if (groupVersions.includes(value)) return value;
  throw invalid(
    `--audit-${plugin}-version: invalid group version ${value}, allowed versions are [${groupVersions.map((gv) => JSON.stringify(gv)).join(" ")}]`,
  );
}

const notNegative = (values: FlagValues, name: string): number => {
  const value = values[name] as number;
  if (!Number.isInteger(value) || value < 0) throw invalid(`--${name} ${value} can't be a negative number`);
  return value;
};

/** The validated audit configuration from serve's flag values (defaults included). */
export function auditConfig(values: FlagValues): AuditConfig {
  const text = (name: string) => (typeof values[name] === "string" ? (values[name] as string) : "");
  const logPath = text("audit-log-path");
  const webhookFile = text("audit-webhook-config-file");
  // Each backend's options are validated only when the backend is on (AuditLogOptions.enabled).
  const logOn = logPath !== "";
  const webhookOn = webhookFile !== "";
  const logMode = logOn ? mode("log", text("audit-log-mode")) : (text("audit-log-mode") as BackendMode);
  const webhookMode = webhookOn
    ? mode("webhook", text("audit-webhook-mode"))
    : (text("audit-webhook-mode") as BackendMode);
  const format = text("audit-log-format");
  if (logOn && format !== "json" && format !== "legacy") {
    throw invalid(`--audit-log-format: invalid audit log format ${format}, allowed formats are "legacy,json"`);
  }
  const off = <T>(on: boolean, check: () => T, fallback: () => T): T => (on ? check() : fallback());
  const policyFile = text("audit-policy-file");
  return {
    requested: policyFile !== "" || logOn || webhookOn,
    policyFile,
    log: {
      path: logPath,
      format: format as "json" | "legacy",
      maxSizeMb: off(
        logOn,
        () => notNegative(values, "audit-log-maxsize"),
        () => values["audit-log-maxsize"] as number,
      ),
      maxBackups: off(
        logOn,
        () => notNegative(values, "audit-log-maxbackup"),
        () => values["audit-log-maxbackup"] as number,
      ),
      maxAgeDays: off(
        logOn,
        () => notNegative(values, "audit-log-maxage"),
        () => values["audit-log-maxage"] as number,
      ),
      mode: logMode,
      batch: off(
        logOn,
        () => batch("log", logMode, values),
        () => batch("log", "blocking", values),
      ),
      truncate: off(
        logOn,
        () => truncate("log", values),
        () => truncateValues("log", values),
      ),
      groupVersion: logOn ? groupVersion("log", text("audit-log-version")) : text("audit-log-version"),
    },
    webhook: {
      configFile: webhookFile,
      initialBackoffMs: values["audit-webhook-initial-backoff"] as number,
      mode: webhookMode,
      batch: off(
        webhookOn,
        () => batch("webhook", webhookMode, values),
        () => batch("webhook", "blocking", values),
      ),
      truncate: off(
        webhookOn,
        () => truncate("webhook", values),
        () => truncateValues("webhook", values),
      ),
      groupVersion: webhookOn ? groupVersion("webhook", text("audit-webhook-version")) : text("audit-webhook-version"),
    },
  };
}
