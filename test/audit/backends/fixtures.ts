// Events and a log recorder shared by the backend tests.

import type { AuditEvent } from "../../../src/audit/types.ts";
import { createLogger, type Logger } from "../../../src/observability/logger.ts";

export function event(i: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    level: "RequestResponse",
    auditID: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    stage: "ResponseComplete",
    requestURI: `/api/v1/namespaces/default/configmaps/cm-${i}`,
    verb: "get",
    user: { username: "alice@example.com", groups: ["oidc:developers", "system:authenticated"] },
    sourceIPs: ["192.0.2.7"],
    userAgent: "kubectl/v1.37.2 (linux/amd64) kubernetes/abcdef",
    objectRef: { resource: "configmaps", namespace: "default", name: `cm-${i}`, apiVersion: "v1" },
    responseStatus: { code: 200 },
    responseObject: { json: `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cm-${i}"}}` },
    requestReceivedTimestampUs: 1_765_000_000_123_456 + i,
    stageTimestampUs: 1_765_000_000_223_456 + i,
    annotations: { "authorization.k8s.io/decision": "allow" },
    ...overrides,
  };
}

export interface RecordedLog {
  readonly logger: Logger;
  readonly lines: { level: string; msg: string; [field: string]: unknown }[];
}

/** The gateway's real logger, its lines kept for the test to read. */
export function recordedLog(): RecordedLog {
  const lines: RecordedLog["lines"] = [];
  return { logger: createLogger("debug", (line) => void lines.push(JSON.parse(line))), lines };
}
