// One request's audit event through its stages, as kube-apiserver's audit filters build it
// (k8s.io/apiserver@v0.37.2 pkg/endpoints/filters/audit.go WithAudit, authn_audit.go
// WithFailedAuthenticationAudit, pkg/audit/request.go LogRequestMetadata / LogRequestObject /
// LogRequestPatch / LogResponseObject, pkg/audit/context.go ProcessEventStage). The gateway sits
// where kube-apiserver's filter sits, after authentication, so `user` is the token's user as the
// API server's own OIDC authenticator would have seen it.
//
// Stages: RequestReceived when the request is authenticated (its timestamp is the time the request
// arrived); ResponseStarted only for long-running requests (watches, exec, logs…) when the response
// head is written; ResponseComplete when the response ends. A request whose authentication failed
// gets one event, at ResponseStarted, without a user (WithFailedAuthenticationAudit). Stages the
// policy omits are not sent. Each stage sends a new snapshot: a backend may hold events.
import { goUtf8Decode } from "../apiserver/go-json.ts";
import { nowUs, numberOf, parseKeepingNumbers, rawObjectOf } from "./encode.ts";
import {
  type AuditBackend,
  type AuditEvent,
  type AuditUser,
  levelLess,
  type ObjectReference,
  type PolicyAttributes,
  type PolicyRuleEvaluator,
  type RawObject,
  type RequestAuditConfig,
  type ResponseStatus,
  type Stage,
  type Stored,
} from "./types.ts";

/** The policy and where events go: present when --audit-policy-file and a backend are set. */
export interface Auditor {
  readonly evaluator: PolicyRuleEvaluator;
  readonly backend: AuditBackend;
}

// pkg/audit/request.go maxUserAgentLength, userAgentTruncateSuffix.
const maxUserAgentLength = 1024;

/** What the event says of the request, known when it arrives. */
export interface RequestFacts {
  readonly auditID: string;
  /** Go's req.URL.RequestURI(): the path and query as the client sent them. */
  readonly requestURI: string;
  readonly attributes: PolicyAttributes;
  /** The authenticated user; absent when authentication failed. */
  readonly user?: {
    readonly username: string;
    readonly uid?: string;
    readonly groups: readonly string[];
    readonly extra: Readonly<Record<string, readonly string[]>>;
  };
  readonly sourceIPs: readonly string[];
  readonly userAgent: string | undefined;
  /** When the request arrived, epoch microseconds. */
  readonly receivedUs: number;
}

/** Drops metadata.managedFields from an object, a list's items and a Table's row objects (copyWithoutManagedFields). */
function withoutManagedFields(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const object = value as Record<string, unknown>;
  const strip = (item: unknown) => {
    if (typeof item !== "object" || item === null) return;
    const metadata = (item as Record<string, unknown>).metadata;
    if (typeof metadata === "object" && metadata !== null) delete (metadata as Record<string, unknown>).managedFields;
  };
  strip(object);
  if (Array.isArray(object.items)) for (const item of object.items) strip(item);
  if (object.kind === "Table" && Array.isArray(object.rows)) {
    for (const row of object.rows)
      if (typeof row === "object" && row !== null) strip((row as { object?: unknown }).object);
  }
  return object;
}

/** A JSON body as the event carries it, or undefined when it is not JSON. */
function rawObject(body: string, omitManagedFields: boolean): { raw: RawObject; value: unknown } | undefined {
  let value: unknown;
  try {
    value = parseKeepingNumbers(body);
  } catch {
    return undefined;
  }
  if (omitManagedFields) value = withoutManagedFields(value);
  return { raw: rawObjectOf(value), value };
}

export class RequestAudit {
  readonly #backend: AuditBackend;
  readonly #config: RequestAuditConfig;
  #event: Omit<AuditEvent, "stage" | "stageTimestampUs">;
  #statusSet = false;
  #pendingImpersonated: AuditUser | undefined;

  private constructor(backend: AuditBackend, config: RequestAuditConfig, facts: RequestFacts) {
    this.#backend = backend;
    this.#config = config;
    const { attributes: a, user } = facts;
    // Node hands header values and the request target over as latin1, one character per byte;
    // Go keeps the bytes, cuts the user agent at 1,024 of them, and its JSON encoder writes each
    // byte that is not valid UTF-8 as U+FFFD.
    let userAgent: string | undefined;
    if (facts.userAgent) {
      const bytes = Buffer.from(facts.userAgent, "latin1");
      userAgent =
        bytes.length > maxUserAgentLength
          ? `${goUtf8Decode(bytes.subarray(0, maxUserAgentLength))}...TRUNCATED`
          : goUtf8Decode(bytes);
    }
    const auditUser: AuditUser = user
      ? { username: user.username, uid: user.uid, groups: user.groups, extra: user.extra }
      : {};
    this.#event = {
      level: config.level,
      auditID: facts.auditID,
      requestURI: goUtf8Decode(Buffer.from(facts.requestURI, "latin1")),
      verb: a.verb,
      user: auditUser,
      sourceIPs: facts.sourceIPs,
      userAgent,
      objectRef: a.resourceRequest
        ? {
            namespace: a.namespace,
            name: a.name,
            resource: a.resource,
            subresource: a.subresource,
            apiGroup: a.apiGroup,
            apiVersion: a.apiVersion,
          }
        : undefined,
      requestReceivedTimestampUs: facts.receivedUs,
    };
  }

  /** The request's audit context, or undefined when the policy records nothing for it (level None). */
  static begin(auditor: Auditor, facts: RequestFacts): RequestAudit | undefined {
    const config = auditor.evaluator.evaluatePolicyRule(facts.attributes);
    if (config.level === "None") return undefined;
    return new RequestAudit(auditor.backend, config, facts);
  }

  get level() {
    return this.#event.level;
  }

  get verb(): string {
    return this.#event.verb;
  }

  /** Whether the response body is worth keeping: the object at RequestResponse, a Status at any level. */
  get wantsResponseObject(): boolean {
    return !levelLess(this.#event.level, "RequestResponse");
  }

  /**
   * Sends the event at `stage` unless the policy omits it; false when the backend could not store
   * it (blocking-strict), which kube-apiserver answers with a 500.
   */
  process(stage: Stage): Stored {
    if (stage !== "RequestReceived" && this.#pendingImpersonated) {
      this.#event = { ...this.#event, impersonatedUser: this.#pendingImpersonated };
      this.#pendingImpersonated = undefined;
    }
    if (this.#config.omitStages.includes(stage)) return true;
    const event: AuditEvent = {
      ...this.#event,
      stage,
      stageTimestampUs: stage === "RequestReceived" ? this.#event.requestReceivedTimestampUs : nowUs(),
    };
    const stored = this.#backend.processEvents(event);
    // A stage nobody waits for must not become an unhandled rejection (which would stop Node).
    return stored instanceof Promise ? stored.catch(() => false) : stored;
  }

  /** auditResponseWriter.processCode: the first status code written. */
  setResponseCode(code: number): void {
    if (this.#statusSet) return;
    this.#statusSet = true;
    this.#event = { ...this.#event, responseStatus: { ...this.#event.responseStatus, code } };
  }

  get hasResponseStatus(): boolean {
    return this.#event.responseStatus !== undefined;
  }

  /**
   * LogResponseObject: a Status body fills responseStatus; at RequestResponse the body is the
   * response object. `body` is the response's JSON text (undefined: not JSON or not kept);
   * `errorsNegotiable`: whether the request's Accept header can be served without conversion.
   */
  logResponseObject(body: string | undefined, errorsNegotiable = true): void {
    if (body === undefined) return;
    const parsed = rawObject(body, this.#config.omitManagedFields);
    if (!parsed) return;
    const value = parsed.value as Record<string, unknown> | null;
    // An error is written with DefaultEndpointRestrictions (responsewriters.ErrorNegotiated): when
    // the client's Accept cannot be served so, the Status goes out raw and is not logged.
    if (!errorsNegotiable && value?.kind === "Status" && value.status === "Failure") return;
    let responseStatus = this.#event.responseStatus;
    if (value && typeof value === "object" && value.kind === "Status") {
      const text = (v: unknown) => (typeof v === "string" ? v : undefined);
      const code = numberOf(value.code);
      // The status code written (processCode) wins over the Status's own, which a success may lack.
      responseStatus = {
        status: text(value.status),
        message: text(value.message),
        reason: text(value.reason),
        details: value.details,
        code: this.#event.responseStatus?.code ?? (Number.isInteger(code) ? code : undefined),
      } satisfies ResponseStatus;
    }
    this.#event = {
      ...this.#event,
      responseStatus,
      responseObject: this.wantsResponseObject ? parsed.raw : this.#event.responseObject,
    };
  }

  /**
   * LogRequestObject for a decoded body (create, update, delete options): fills what objectRef
   * lacks from the object's metadata, and at Request level and above records the body.
   */
  logRequestObject(body: string): void {
    const parsed = rawObject(body, this.#config.omitManagedFields);
    if (!parsed) return;
    const metadata = (parsed.value as { metadata?: Record<string, unknown> } | null)?.metadata;
    const field = (name: string) => (typeof metadata?.[name] === "string" ? (metadata[name] as string) : undefined);
    const ref: ObjectReference = this.#event.objectRef ?? {};
    this.#event = {
      ...this.#event,
      objectRef: {
        ...ref,
        namespace: ref.namespace || field("namespace"),
        name: ref.name || field("name"),
        uid: ref.uid || field("uid"),
        resourceVersion: ref.resourceVersion || field("resourceVersion"),
      },
      requestObject: levelLess(this.#event.level, "Request") ? undefined : parsed.raw,
    };
  }

  /**
   * A delete's DeleteOptions body as kube-apiserver logs it (handlers/delete.go decodes it into
   * its internal type and LogRequestObject encodes that again): kind DeleteOptions with the
   * internal apiVersion meta.k8s.io/__internal, metav1.DeleteOptions' fields in struct order,
   * nothing else. At Request level and above.
   */
  logDeleteOptions(body: string): void {
    if (levelLess(this.#event.level, "Request")) return;
    let value: unknown;
    try {
      value = parseKeepingNumbers(body);
    } catch {
      return;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) return;
    const sent = value as Record<string, unknown>;
    const decoded: Record<string, unknown> = { kind: "DeleteOptions", apiVersion: "meta.k8s.io/__internal" };
    const copy = (from: Record<string, unknown>, to: Record<string, unknown>, name: string) => {
      // A pointer field: present unless absent or null (omitempty leaves out nil only).
      if (from[name] !== undefined && from[name] !== null) to[name] = from[name];
    };
    copy(sent, decoded, "gracePeriodSeconds");
    const preconditions = sent.preconditions;
    if (typeof preconditions === "object" && preconditions !== null && !Array.isArray(preconditions)) {
      const decodedPreconditions: Record<string, unknown> = {};
      copy(preconditions as Record<string, unknown>, decodedPreconditions, "uid");
      copy(preconditions as Record<string, unknown>, decodedPreconditions, "resourceVersion");
      decoded.preconditions = decodedPreconditions;
    }
    copy(sent, decoded, "orphanDependents");
    copy(sent, decoded, "propagationPolicy");
    if (Array.isArray(sent.dryRun) && sent.dryRun.length > 0) decoded.dryRun = sent.dryRun;
    copy(sent, decoded, "ignoreStoreReadErrorWithClusterBreakingPotential");
    this.#event = { ...this.#event, requestObject: rawObjectOf(decoded) };
  }

  /** LogRequestPatch: the patch as sent, at Request level and above. */
  logRequestPatch(body: string): void {
    if (levelLess(this.#event.level, "Request")) return;
    const parsed = rawObject(body, false);
    if (parsed) this.#event = { ...this.#event, requestObject: parsed.raw };
  }

  /**
   * LogImpersonatedUser: whom the request acts as. kube-apiserver logs it from its impersonation
   * filter, after RequestReceived was sent, so it shows from the next stage on.
   */
  logImpersonatedUser(user: {
    readonly username: string;
    readonly uid?: string;
    readonly groups: readonly string[];
    readonly extra: Readonly<Record<string, readonly string[]>>;
  }): void {
    this.#pendingImpersonated = { username: user.username, uid: user.uid, groups: user.groups, extra: user.extra };
  }

  /**
   * WithFailedAuthenticationAudit: a failed authentication's event says which credentials were
   * tried (getAuthMethods) and the code; the Unauthorized Status is not logged.
   */
  logFailedAuthentication(message: string, code: number): void {
    this.#event = { ...this.#event, responseStatus: { message, code } };
    this.#statusSet = true;
  }

  /** For a response that ended before a status was written (filters/audit.go fakedSuccessStatus). */
  fakeSuccessIfNoStatus(): boolean {
    if (this.#event.responseStatus) return false;
    this.#event = {
      ...this.#event,
      responseStatus: { status: "Success", message: "Connection closed early", code: 200 },
    };
    return true;
  }
}
