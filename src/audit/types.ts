// The audit subsystem's shared shapes: kube-apiserver's audit.k8s.io/v1 Event and Policy
// (k8s.io/apiserver@v0.37.2 pkg/apis/audit/v1/types.go), the request attributes a policy is
// evaluated against, and the Backend contract every output implements (pkg/audit/types.go Sink
// and Backend). Field names, their order and which are omitted when empty follow the Go structs'
// JSON tags, because the events must read exactly as the API server's own.

/** Levels in increasing order of what is recorded (pkg/apis/audit/types.go Level.Less). */
export const levels = ["None", "Metadata", "Request", "RequestResponse"] as const;
export type Level = (typeof levels)[number];

export const stages = ["RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"] as const;
export type Stage = (typeof stages)[number];

/** Whether `a` records less than `b` (Go's Level.Less). */
export const levelLess = (a: Level, b: Level): boolean => levels.indexOf(a) < levels.indexOf(b);

/** k8s.io/api authentication/v1 UserInfo: every field omitted when empty. */
export interface AuditUser {
  readonly username?: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
  /** Keys in Go's map order (sorted) when encoded. */
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

/** audit/v1 ObjectReference, in its field order; every field omitted when empty. */
export interface ObjectReference {
  readonly resource?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly uid?: string;
  readonly apiGroup?: string;
  readonly apiVersion?: string;
  readonly resourceVersion?: string;
  readonly subresource?: string;
}

/**
 * metav1.Status as an event's responseStatus: `metadata` is always there (ListMeta has no
 * omitempty), the rest omitted when empty, in this order.
 */
export interface ResponseStatus {
  readonly status?: string;
  readonly message?: string;
  readonly reason?: string;
  readonly details?: unknown;
  readonly code?: number;
}

/**
 * A request or response body as the event carries it (runtime.Unknown): JSON text written into the
 * event as it is (compacted, Go's HTML escaping), never re-encoded, so numbers and key order stay
 * exactly as the API server wrote them.
 */
export interface RawObject {
  readonly json: string;
}

/** One audit.k8s.io/v1 Event at one stage. Snapshots: a backend may keep it, nobody changes it. */
export interface AuditEvent {
  readonly level: Level;
  readonly auditID: string;
  readonly stage: Stage;
  readonly requestURI: string;
  readonly verb: string;
  readonly user: AuditUser;
  readonly impersonatedUser?: AuditUser;
  readonly authenticationMetadata?: { readonly impersonationConstraint?: string };
  readonly sourceIPs?: readonly string[];
  readonly userAgent?: string;
  readonly objectRef?: ObjectReference;
  readonly responseStatus?: ResponseStatus;
  readonly requestObject?: RawObject;
  readonly responseObject?: RawObject;
  /** Epoch microseconds (metav1.MicroTime); encoded as RFC 3339 with six fraction digits, UTC. */
  readonly requestReceivedTimestampUs: number;
  readonly stageTimestampUs: number;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** audit/v1 GroupResources. */
export interface GroupResources {
  readonly group?: string;
  readonly resources?: readonly string[];
  readonly resourceNames?: readonly string[];
}

/** audit/v1 PolicyRule. */
export interface PolicyRule {
  readonly level: Level;
  readonly users?: readonly string[];
  readonly userGroups?: readonly string[];
  readonly verbs?: readonly string[];
  readonly resources?: readonly GroupResources[];
  readonly namespaces?: readonly string[];
  readonly nonResourceURLs?: readonly string[];
  readonly omitStages?: readonly Stage[];
  readonly omitManagedFields?: boolean;
}

/** audit/v1 Policy, validated. */
export interface Policy {
  readonly rules: readonly PolicyRule[];
  readonly omitStages?: readonly Stage[];
  readonly omitManagedFields?: boolean;
}

/** What a policy rule is matched against: authorizer.Attributes as the audit filter builds them. */
export interface PolicyAttributes {
  /** Absent for a request whose authentication failed. */
  readonly user?: { readonly username: string; readonly groups: readonly string[] };
  readonly verb: string;
  readonly resourceRequest: boolean;
  /** Resource requests. */
  readonly apiGroup?: string;
  readonly apiVersion?: string;
  readonly resource?: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
  /** Non-resource requests: the request path. */
  readonly path?: string;
}

/** pkg/audit/types.go RequestAuditConfig: what the policy decided for one request. */
export interface RequestAuditConfig {
  readonly level: Level;
  readonly omitStages: readonly Stage[];
  readonly omitManagedFields: boolean;
}

export interface PolicyRuleEvaluator {
  evaluatePolicyRule(attributes: PolicyAttributes): RequestAuditConfig;
}

/**
 * Whether events were stored: at once (a file write), or once a webhook has answered (its
 * blocking modes, where kube-apiserver's call waits for the POST and the request with it).
 */
export type Stored = boolean | Promise<boolean>;

/** Both results, waiting only when one of them is still to come (Go: `a && b` over blocking calls). */
export function allStored(results: readonly Stored[]): Stored {
  if (!results.some((r) => r instanceof Promise)) return results.every((r) => r === true);
  return Promise.all(results).then((all) => all.every(Boolean));
}

/**
 * pkg/audit/types.go Backend. processEvents returns false when an event could not be stored
 * (blocking-strict: the request then fails as kube-apiserver fails it).
 */
export interface AuditBackend {
  processEvents(...events: AuditEvent[]): Stored;
  /** Starts background work (batching); called once before the first event. */
  run(): void;
  /** Flushes what is buffered and stops; resolves when done. */
  shutdown(): Promise<void>;
  /** Go's String(): e.g. "buffered<log>" for start-up logs. */
  toString(): string;
}

/** kube-apiserver's --audit-*-batch-* flags (plugin/pkg/audit/buffered BatchConfig). */
export interface BatchConfig {
  readonly bufferSize: number;
  readonly maxBatchSize: number;
  readonly maxBatchWaitMs: number;
  readonly throttleEnable: boolean;
  readonly throttleQps: number;
  readonly throttleBurst: number;
}

/** kube-apiserver's --audit-*-truncate-* flags (plugin/pkg/audit/truncate Config). */
export interface TruncateConfig {
  readonly enabled: boolean;
  readonly maxBatchSize: number;
  readonly maxEventSize: number;
}

export type BackendMode = "batch" | "blocking" | "blocking-strict";

interface BackendOptions {
  readonly mode: BackendMode;
  readonly batch: BatchConfig;
  readonly truncate: TruncateConfig;
  /** --audit-*-version; only audit.k8s.io/v1 exists. */
  readonly groupVersion: string;
}

/** Every --audit-* flag, validated (pkg/server/options/audit.go AuditOptions). */
export interface AuditConfig {
  /**
   * Whether any --audit-* setting asks for auditing (the policy or a backend): only then is the
   * audit code loaded, to record events or to say why none will be (src/audit/auditor.ts).
   */
  readonly requested: boolean;
  /** --audit-policy-file; empty: no policy, so no events (as kube-apiserver). */
  readonly policyFile: string;
  readonly log: BackendOptions & {
    /** --audit-log-path; empty: no log backend; "-": standard output. */
    readonly path: string;
    readonly format: "json" | "legacy";
    readonly maxSizeMb: number;
    readonly maxBackups: number;
    readonly maxAgeDays: number;
  };
  readonly webhook: BackendOptions & {
    /** --audit-webhook-config-file; empty: no webhook backend. */
    readonly configFile: string;
    readonly initialBackoffMs: number;
  };
}
