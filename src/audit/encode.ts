// An audit event as kube-apiserver's log and webhook backends write it: the JSON serializer of
// k8s.io/apimachinery (encoding/json underneath) over the audit.k8s.io/v1 Go structs, so fields in
// struct order, empty ones omitted as their tags say, map keys sorted, and Go's string escaping
// (HTML characters and U+2028/U+2029 as \u escapes, \b and \f short as Go 1.22+ writes them,
// invalid UTF-16 as U+FFFD). Request and response bodies are written in place as the API server's own
// JSON text (runtime.Unknown), compacted as encoding/json compacts a Marshaler's output.
import type { AuditEvent, AuditUser, ObjectReference, RawObject, ResponseStatus } from "./types.ts";

const goEscapes: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

/** A JavaScript string as encoding/json writes a Go string (valid UTF-8 assumed, as Go's are). */
export function goJsonString(text: string): string {
  return JSON.stringify(text.toWellFormed()).replace(/[<>&\u2028\u2029]/g, (m) => goEscapes[m] ?? m);
}

/**
 * encoding/json's compact with HTML escaping, as applied to a Marshaler's output: whitespace
 * outside strings dropped; <, >, &, U+2028 and U+2029 inside strings escaped. `json` must be valid.
 */
export function compactGoJson(json: string): string {
  let out = "";
  let start = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i] as string;
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      else if (c in goEscapes) {
        out += json.slice(start, i) + goEscapes[c];
        start = i + 1;
      }
    } else if (c === '"') inString = true;
    else if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      out += json.slice(start, i);
      start = i + 1;
    }
  }
  return out + json.slice(start);
}

/**
 * JSON text parsed with every number kept as the text it was (JSON.rawJSON), so a value changed
 * and written back with JSON.stringify keeps int64s and "1.0" exactly.
 */
export function parseKeepingNumbers(json: string): unknown {
  return JSON.parse(json, (_key, value, context?: { source?: string }) =>
    typeof value === "number" && context?.source !== undefined ? rawJson(context.source) : value,
  );
}

// ES2025's JSON.rawJSON (V8 since Node 21), not yet in TypeScript's lib.
const rawJson = (text: string) => (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON(text);

/** A number from parseKeepingNumbers (kept as its text) or plain JSON; NaN for anything else. */
export function numberOf(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "object" && value !== null && "rawJSON" in value)
    return Number((value as { rawJSON: string }).rawJSON);
  return Number.NaN;
}

/** A value from parseKeepingNumbers (or plain JSON) written back as Go would write it. */
export function rawObjectOf(value: unknown): RawObject {
  return { json: compactGoJson(JSON.stringify(value)) };
}

const pad = (n: number, width: number) => String(n).padStart(width, "0");

/** metav1.MicroTime: RFC 3339 in UTC with exactly six fraction digits. */
export function microTime(epochUs: number): string {
  const ms = Math.floor(epochUs / 1000);
  const micros = epochUs - ms * 1000;
  const d = new Date(ms);
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}` +
    `T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}` +
    `.${pad(d.getUTCMilliseconds(), 3)}${pad(Math.floor(micros), 3)}Z`
  );
}

/** Now, in epoch microseconds (time.Now() in a MicroTime). */
export function nowUs(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/** Members in order, the undefined and (where Go's tag says omitempty) empty ones left out. */
function object(members: readonly (readonly [string, string | undefined])[]): string {
  let out = "{";
  for (const [name, value] of members) {
    if (value === undefined) continue;
    out += `${out.length > 1 ? "," : ""}"${name}":${value}`;
  }
  return `${out}}`;
}

const str = (value: string | undefined) => (value ? goJsonString(value) : undefined);
const strings = (values: readonly string[] | undefined) =>
  values && values.length > 0 ? `[${values.map(goJsonString).join(",")}]` : undefined;

function sortedMap<T>(map: Readonly<Record<string, T>> | undefined, encode: (value: T) => string) {
  if (!map) return undefined;
  const keys = Object.keys(map).sort(byteOrder);
  if (keys.length === 0) return undefined;
  return `{${keys.map((key) => `${goJsonString(key)}:${encode(map[key] as T)}`).join(",")}}`;
}

/** Go's sort of map keys compares bytes (UTF-8), which is not JavaScript's UTF-16 order. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export function encodeUser(user: AuditUser): string {
  return object([
    ["username", str(user.username)],
    ["uid", str(user.uid)],
    ["groups", strings(user.groups)],
    [
      "extra",
      user.extra && Object.keys(user.extra).length > 0
        ? `{${Object.keys(user.extra)
            .sort(byteOrder)
            .map((key) => `${goJsonString(key)}:[${(user.extra?.[key] ?? []).map(goJsonString).join(",")}]`)
            .join(",")}}`
        : undefined,
    ],
  ]);
}

function encodeObjectRef(ref: ObjectReference): string {
  return object([
    ["resource", str(ref.resource)],
    ["namespace", str(ref.namespace)],
    ["name", str(ref.name)],
    ["uid", str(ref.uid)],
    ["apiGroup", str(ref.apiGroup)],
    ["apiVersion", str(ref.apiVersion)],
    ["resourceVersion", str(ref.resourceVersion)],
    ["subresource", str(ref.subresource)],
  ]);
}

const text = (value: unknown) => (typeof value === "string" && value !== "" ? goJsonString(value) : undefined);
const integer = (value: unknown) => {
  const n = numberOf(value);
  return Number.isInteger(n) && n !== 0 ? String(n) : undefined;
};

/** metav1.StatusDetails in struct order; what Go would drop on decoding is dropped. */
function encodeDetails(details: unknown): string | undefined {
  if (typeof details !== "object" || details === null) return undefined;
  const d = details as Record<string, unknown>;
  const causes = Array.isArray(d.causes)
    ? d.causes
        .filter((c): c is Record<string, unknown> => typeof c === "object" && c !== null)
        .map((c) =>
          object([
            ["reason", text(c.reason)],
            ["message", text(c.message)],
            ["field", text(c.field)],
          ]),
        )
    : [];
  return object([
    ["name", text(d.name)],
    ["group", text(d.group)],
    ["kind", text(d.kind)],
    ["uid", text(d.uid)],
    ["causes", causes.length > 0 ? `[${causes.join(",")}]` : undefined],
    ["retryAfterSeconds", integer(d.retryAfterSeconds)],
  ]);
}

function encodeStatus(status: ResponseStatus): string {
  return object([
    ["metadata", "{}"],
    ["status", str(status.status)],
    ["message", str(status.message)],
    ["reason", str(status.reason)],
    ["details", encodeDetails(status.details)],
    ["code", status.code ? String(status.code) : undefined],
  ]);
}

/**
 * One event as JSON text, without the trailing newline the log backend adds. `typeMeta` false:
 * without kind and apiVersion, as the items of an EventList are written (the codec sets them on
 * the list alone).
 */
export function encodeEvent(event: AuditEvent, typeMeta = true): string {
  return object([
    ["kind", typeMeta ? '"Event"' : undefined],
    ["apiVersion", typeMeta ? '"audit.k8s.io/v1"' : undefined],
    ["level", goJsonString(event.level)],
    ["auditID", goJsonString(event.auditID)],
    ["stage", goJsonString(event.stage)],
    ["requestURI", goJsonString(event.requestURI)],
    ["verb", goJsonString(event.verb)],
    ["user", encodeUser(event.user)],
    ["impersonatedUser", event.impersonatedUser ? encodeUser(event.impersonatedUser) : undefined],
    [
      "authenticationMetadata",
      event.authenticationMetadata
        ? object([["impersonationConstraint", str(event.authenticationMetadata.impersonationConstraint)]])
        : undefined,
    ],
    ["sourceIPs", strings(event.sourceIPs)],
    ["userAgent", str(event.userAgent)],
    ["objectRef", event.objectRef ? encodeObjectRef(event.objectRef) : undefined],
    ["responseStatus", event.responseStatus ? encodeStatus(event.responseStatus) : undefined],
    ["requestObject", event.requestObject?.json],
    ["responseObject", event.responseObject?.json],
    ["requestReceivedTimestamp", `"${microTime(event.requestReceivedTimestampUs)}"`],
    ["stageTimestamp", `"${microTime(event.stageTimestampUs)}"`],
    ["annotations", sortedMap(event.annotations, goJsonString)],
  ]);
}

/** audit.k8s.io/v1 EventList, as the webhook backend posts a batch: kind and apiVersion on the list only. */
export function encodeEventList(events: readonly AuditEvent[]): string {
  const items = events.map((event) => encodeEvent(event, false)).join(",");
  return `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[${items}]}`;
}
