// End-to-end audit differential: the gateway's audit.k8s.io/v1 events compared field by field with
// kube-apiserver's own events for the same requests. The bed's kube-apiserver is the reference: it
// authenticates the bed's OIDC tokens itself (defaultJwtAuthenticators, the gateway gets the same
// settings as --oidc-* flags) and runs with the SAME audit policy file as the gateway, both writing
// JSON lines in blocking mode. Every generated request is sent twice with the same token: directly
// to kube-apiserver ("xd" side) and through the gateway ("xg" side); the direct request's events
// (kube-apiserver's log) and the gateway's events (its --audit-log-path) must be the same, stage by
// stage and field by field, except for the differences listed in `knownDifferences`, each with why.
//
// The two sides work on twin objects so that each sees the same state: every name, label value and
// marker carries the side ("cm-2-xd" / "cm-2-xg"), and the side is masked before comparing. Each
// request carries a unique marker in a query parameter kube-apiserver ignores, which pairs the
// events of the two logs; the gateway must pair requests with their events on its own (no client
// Audit-ID is needed), and with a client-supplied Audit-ID it must keep it as kube-apiserver does
// (k8s.io/apiserver@v0.37.2 pkg/endpoints/filters/audit_init.go).
//
// Correlation: the gateway forwards its auditID upstream in the Audit-ID header, so kube-apiserver's
// event for the forwarded request (user: the gateway's ServiceAccount, impersonatedUser: the OIDC
// user, recorded by the policy's first rule) must carry the gateway event's auditID and user.
import assert from "node:assert/strict";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { defaultJwtAuthenticators, startTestBed, type TestBed } from "../../testbed/bed.ts";
import {
  bedOidcFlags,
  gatewayReady,
  gatewayTokenSubject,
  prepareGatewayCredentials,
  type RunningGateway,
  startTestGateway,
} from "../../testbed/gateway.ts";
import { httpsRequest, waitFor } from "../../testbed/http.ts";
import { clients } from "../../testbed/issuer/oidc-provider.ts";
import { type KubeApiServer, startKubeApiServer } from "../../testbed/kube-apiserver.ts";
import { ensureKubeBinaries } from "../../testbed/kube-binaries.ts";
import { kubectl } from "../../testbed/kubectl.ts";
import { propertyParameters, propertySeed } from "../helpers/property-seed.ts";

type Side = "xd" | "xg";
const markerParam = "kog-audit-marker";
/** The side token in every name, label value, marker and client Audit-ID; masked before comparing. */
const sideToken = /-x[dg](?![a-z0-9])/g;
const sideMask = "-x*";

// ---------------------------------------------------------------------------------------------
// Who asks: the bed's oidc-provider tokens, minted with the raw signer.

const users = {
  /** May use configmaps in audit-a and audit-rr (RoleBinding to oidc:auditors), not in audit-b. */
  dev: { email: "audit-dev@example.com", groups: ["auditors"] },
  /** The same rights through oidc:auditors-request, which a userGroups rule logs at Request level. */
  req: { email: "audit-req@example.com", groups: ["auditors-request", "viewers"] },
  /** Logged at level None by a users rule: neither side may write an event for this user. */
  quiet: { email: "audit-quiet@example.com", groups: ["auditors"] },
} as const;
type UserName = keyof typeof users;

const whos = ["dev", "dev-jti", "req", "quiet", "expired", "audience"] as const;
type Who = (typeof whos)[number];

const namespaces = ["audit-a", "audit-rr", "audit-b"] as const;
type Namespace = (typeof namespaces)[number];

const ops = [
  "get",
  "list",
  "create",
  "create-bad-json",
  "create-invalid-name",
  "update",
  "update-name-mismatch",
  "patch-merge",
  "patch-strategic",
  "patch-json",
  "patch-json-failing",
  "delete",
  "deletecollection",
  "watch",
  "/version",
  "/api",
  "/api/v1",
  "/apis",
  "/healthz",
  // Not served: a non-resource 404 (403 first for these users) and an API group that does not exist.
  "/no-such-path",
  "/apis/nothing.example.com/v1/namespaces/audit-a/things",
] as const;
type Op = (typeof ops)[number];

interface RequestSpec {
  readonly who: Who;
  readonly op: Op;
  readonly namespace: Namespace;
  /** From a small pool, so creates collide (409), gets miss (404) and deletes find something. */
  readonly name: string;
  /** Create/update bodies: Go's field order and compact, or another order with whitespace. */
  readonly canonicalBody: boolean;
  readonly data: Readonly<Record<string, string>>;
  /** A client-supplied Audit-ID (the side is appended). */
  readonly auditId: boolean;
  /** undefined: no User-Agent header at all. */
  readonly userAgent: string | undefined;
  readonly table: boolean;
  readonly xForwardedFor: string | undefined;
  readonly xRealIp: string | undefined;
  /** A delete's body (DeleteOptions in its forms), or none. */
  readonly deleteOptions: string | undefined;
}

const userAgent = fc.oneof(
  fc.constant(undefined),
  fc.constant("kubectl/v1.37.2 (linux/amd64) kubernetes/abcdef0"),
  fc.constant(""),
  // Node writes a header string as Latin-1 bytes (and refuses characters above U+00FF): "é" goes on
  // the wire as the one byte E9, no UTF-8, which Go keeps and its JSON encoder writes as U+FFFD.
  fc.constant("odd <agent> & \"quotes\" 'x' \\ é ü ÿ"),
  // UTF-8 on the wire, as Go's clients send it: the bytes given to Node as Latin-1 characters.
  fc.constant(Buffer.from("kubectl-日本/1.0 (é; ☃) \u2028", "utf8").toString("latin1")),
  // A UTF-8 sequence cut short (E6 97): Go's encoder writes one U+FFFD per invalid byte.
  fc.constant("cut-\u00e6\u0097-short"),
  // Longer than kube-apiserver records: cut at 1024 bytes plus "...TRUNCATED"
  // (k8s.io/apiserver@v0.37.2 pkg/audit/request.go maybeTruncateUserAgent), here inside a
  // multi-byte character.
  fc.constant(`long/${"x".repeat(1018)}${Buffer.from("日本", "utf8").toString("latin1")}-tail`),
  // Printable ASCII only: Node refuses control characters in a header value.
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 }),
);

const dataValue = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom("<b>&amp;</b>", "line\nbreak\ttab", "\u2028\u2029", "ünï©ødé 日本", '"quoted" \\ back'),
);

const requestSpec: fc.Arbitrary<RequestSpec> = fc.record({
  who: fc.constantFrom<Who>("dev", "dev", "dev-jti", "dev", "req", "req", "quiet", "expired", "audience"),
  op: fc.constantFrom<Op>(...ops, "get", "create", "create", "update", "list", "watch"),
  namespace: fc.constantFrom<Namespace>("audit-a", "audit-a", "audit-rr", "audit-rr", "audit-b"),
  name: fc.constantFrom("cm-0", "cm-1", "cm-2"),
  canonicalBody: fc.boolean(),
  data: fc.dictionary(fc.constantFrom("a", "b", "key.with.dots", "z_1"), dataValue, { maxKeys: 3 }),
  auditId: fc.boolean(),
  userAgent,
  table: fc.boolean(),
  // kube-apiserver reads X-Forwarded-For, then X-Real-Ip, then the peer, skipping what Go's
  // sloppy IP parser refuses (k8s.io/apimachinery pkg/util/net SourceIPs).
  xForwardedFor: fc.option(
    fc.constantFrom(
      "203.0.113.7",
      "203.0.113.7, 198.51.100.1",
      "2001:db8::1",
      "bogus, 203.0.113.9",
      " 198.51.100.2 ,  203.0.113.7",
      "010.001.1.1",
      "::ffff:192.0.2.1",
      "127.0.0.1",
    ),
    { freq: 3, nil: undefined },
  ),
  xRealIp: fc.option(fc.constantFrom("192.0.2.44", "not-an-ip", "127.0.0.1"), { freq: 4, nil: undefined }),
  deleteOptions: fc.option(
    fc.constantFrom(
      '{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}',
      '{"kind":"DeleteOptions","apiVersion":"meta.k8s.io/v1","gracePeriodSeconds":0,"propagationPolicy":"Foreground"}',
      // No kind: the handler's default (meta.k8s.io DeleteOptions); fields out of Go's order.
      '{ "propagationPolicy": "Orphan", "gracePeriodSeconds": 5 }',
      // A precondition no object meets: 409.
      '{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"uid":"00000000-0000-0000-0000-000000000000"}}',
    ),
    { nil: undefined },
  ),
});

// ---------------------------------------------------------------------------------------------
// The policy: each level, chosen by users, userGroups, nonResourceURLs, resources, namespaces and
// verbs; omitStages at rule level always, at policy level as the seed picks (so over runs every
// stage is both recorded and omitted by the policy), likewise omitManagedFields.

const policyOmitStages = fc.sample(
  fc.constantFrom<string[]>(["RequestReceived"], ["ResponseStarted"], [], ["RequestReceived", "Panic"]),
  { seed: propertySeed, numRuns: 1 },
)[0] as string[];
const policyOmitManagedFields = fc.sample(fc.boolean(), { seed: propertySeed + 1, numRuns: 1 })[0] as boolean;

const configmaps = [{ group: "", resources: ["configmaps"] }];
const auditPolicy = {
  apiVersion: "audit.k8s.io/v1",
  kind: "Policy",
  omitStages: policyOmitStages,
  omitManagedFields: policyOmitManagedFields,
  rules: [
    // The forwarded requests, in kube-apiserver's log only (the gateway never sees this user).
    { level: "Metadata", users: [gatewayTokenSubject], omitStages: ["RequestReceived"] },
    { level: "None", users: [users.quiet.email] },
    { level: "None", nonResourceURLs: ["/healthz*"] },
    { level: "Request", nonResourceURLs: ["/version"] },
    { level: "Metadata", nonResourceURLs: ["/api", "/api/*", "/apis", "/apis/*"], omitStages: ["RequestReceived"] },
    // Reads take the policy's omitManagedFields, writes the opposite: both settings in every run.
    { level: "RequestResponse", resources: configmaps, namespaces: ["audit-rr"], verbs: ["get", "list", "watch"] },
    {
      level: "RequestResponse",
      resources: configmaps,
      namespaces: ["audit-rr"],
      omitManagedFields: !policyOmitManagedFields,
    },
    { level: "Metadata", resources: configmaps, verbs: ["watch"], omitStages: ["ResponseComplete"] },
    { level: "Request", userGroups: ["oidc:auditors-request"], resources: configmaps },
    {
      level: "Request",
      resources: configmaps,
      verbs: ["create", "update", "patch", "delete", "deletecollection"],
      omitStages: ["RequestReceived"],
    },
    { level: "Metadata" },
  ],
};

const rbac = `
apiVersion: v1
kind: Namespace
metadata: {name: audit-a}
---
apiVersion: v1
kind: Namespace
metadata: {name: audit-rr}
---
apiVersion: v1
kind: Namespace
metadata: {name: audit-b}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: audit-differential-configmaps}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch, create, update, patch, delete, deletecollection]
${["audit-a", "audit-rr"]
  .map(
    (ns) => `---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: audit-differential, namespace: ${ns}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: audit-differential-configmaps}
subjects:
- {kind: Group, name: "oidc:auditors", apiGroup: rbac.authorization.k8s.io}
- {kind: Group, name: "oidc:auditors-request", apiGroup: rbac.authorization.k8s.io}
`,
  )
  .join("")}`;

// ---------------------------------------------------------------------------------------------
// One request, for one side.

interface Built {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io";

function configMapBody(spec: RequestSpec, side: Side, name: string): string {
  const metadata = { name, namespace: spec.namespace, labels: { "kog-side": `s-${side}` } };
  if (spec.canonicalBody) {
    // Go's struct order (TypeMeta, ObjectMeta, Immutable, Data) and sorted map keys, compact: as
    // kube-apiserver re-encodes it.
    // An empty map is left out (omitempty).
    const entries = Object.entries(spec.data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const data = entries.length > 0 ? Object.fromEntries(entries) : undefined;
    return JSON.stringify({ kind: "ConfigMap", apiVersion: "v1", metadata, data });
  }
  return JSON.stringify({ data: spec.data, metadata, apiVersion: "v1", kind: "ConfigMap" }, null, 2);
}

function build(spec: RequestSpec, side: Side, index: number): Built {
  const name = `${spec.name}-${side}`;
  const collection = `/api/v1/namespaces/${spec.namespace}/configmaps`;
  const item = `${collection}/${name}`;
  const selector = `labelSelector=${encodeURIComponent(`kog-side=s-${side}`)}`;
  const json = { "content-type": "application/json" };
  let built: Built;
  switch (spec.op) {
    case "get":
      built = { method: "GET", path: item, headers: {} };
      break;
    case "list":
      built = { method: "GET", path: `${collection}?${selector}`, headers: {} };
      break;
    case "watch":
      built = { method: "GET", path: `${collection}?watch=1&timeoutSeconds=1&${selector}`, headers: {} };
      break;
    case "create":
      built = { method: "POST", path: collection, headers: json, body: configMapBody(spec, side, name) };
      break;
    case "create-bad-json":
      built = { method: "POST", path: collection, headers: json, body: '{"kind":"ConfigMap","apiVersion":"v1",' };
      break;
    case "create-invalid-name":
      built = { method: "POST", path: collection, headers: json, body: configMapBody(spec, side, `Bad_${name}`) };
      break;
    case "update":
      built = { method: "PUT", path: item, headers: json, body: configMapBody(spec, side, name) };
      break;
    case "update-name-mismatch":
      built = { method: "PUT", path: item, headers: json, body: configMapBody(spec, side, `other-${name}`) };
      break;
    case "patch-merge":
      built = {
        method: "PATCH",
        path: item,
        headers: { "content-type": "application/merge-patch+json" },
        body: JSON.stringify({ data: spec.data }),
      };
      break;
    case "patch-strategic":
      built = {
        method: "PATCH",
        path: item,
        headers: { "content-type": "application/strategic-merge-patch+json" },
        body: JSON.stringify({ metadata: { annotations: { "kog/patched": `yes-${side}` } } }),
      };
      break;
    case "patch-json":
      built = {
        method: "PATCH",
        path: item,
        headers: { "content-type": "application/json-patch+json" },
        body: JSON.stringify([{ op: "add", path: "/metadata/annotations", value: { "kog/json-patched": "1" } }]),
      };
      break;
    case "patch-json-failing":
      built = {
        method: "PATCH",
        path: item,
        headers: { "content-type": "application/json-patch+json" },
        body: JSON.stringify([{ op: "test", path: "/data/absent", value: "x" }]),
      };
      break;
    case "delete":
      built =
        spec.deleteOptions === undefined
          ? { method: "DELETE", path: item, headers: {} }
          : { method: "DELETE", path: item, headers: json, body: spec.deleteOptions };
      break;
    case "deletecollection":
      built =
        spec.deleteOptions === undefined
          ? { method: "DELETE", path: `${collection}?${selector}`, headers: {} }
          : { method: "DELETE", path: `${collection}?${selector}`, headers: json, body: spec.deleteOptions };
      break;
    default:
      built = { method: "GET", path: spec.op, headers: {} };
  }
  const headers: Record<string, string> = { ...built.headers };
  if (spec.table && (spec.op === "get" || spec.op === "list")) headers.accept = tableAccept;
  if (spec.auditId) headers["audit-id"] = `client-audit-${index}-${side}`;
  if (spec.userAgent !== undefined) headers["user-agent"] = spec.userAgent;
  if (spec.xForwardedFor !== undefined) headers["x-forwarded-for"] = spec.xForwardedFor;
  if (spec.xRealIp !== undefined) headers["x-real-ip"] = spec.xRealIp;
  const marker = `${markerParam}=${index}-${side}`;
  return { ...built, headers, path: `${built.path}${built.path.includes("?") ? "&" : "?"}${marker}` };
}

// ---------------------------------------------------------------------------------------------
// The logs.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Event = { [key: string]: Json };

async function readEvents(path: string): Promise<Event[]> {
  const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return "";
    throw error;
  });
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Event);
}

/** The marker of an event's requestURI: [request index, side]. */
function markerOf(event: Event): [number, Side] | undefined {
  const match = /[?&]kog-audit-marker=(\d+)-(x[dg])(?:&|$)/.exec(String(event.requestURI));
  return match ? [Number(match[1]), match[2] as Side] : undefined;
}

const stageOrder = ["RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"];
const byStage = (a: Event, b: Event) => stageOrder.indexOf(String(a.stage)) - stageOrder.indexOf(String(b.stage));

/** Reads a log until two reads 750 ms apart agree (blocking mode writes as requests end). */
async function settledEvents(path: string): Promise<Event[]> {
  let previous = -1;
  let events: Event[] = [];
  for (;;) {
    events = await readEvents(path);
    if (events.length === previous) return events;
    previous = events.length;
    await new Promise((r) => setTimeout(r, 750));
  }
}

// ---------------------------------------------------------------------------------------------
// Masking: what cannot match between two requests, whoever serves them.

const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const maskedKeys = new Set(["uid", "resourceVersion", "creationTimestamp", "time"]);

/** Side tokens masked everywhere; server-assigned identity and times masked in objects. */
function mask(value: Json, inObject: boolean): Json {
  if (typeof value === "string") {
    const masked = value.replace(sideToken, sideMask);
    // Messages quote the object's uid too ("the UID in record (…)" of a failed precondition).
    return inObject ? masked.replace(uuid, "<uuid>") : masked;
  }
  if (Array.isArray(value)) return value.map((v) => mask(v, inObject));
  if (value === null || typeof value !== "object") return value;
  const out: { [key: string]: Json } = {};
  for (const [key, v] of Object.entries(value)) {
    out[key.replace(sideToken, sideMask)] =
      inObject && maskedKeys.has(key) && v !== null ? "<masked>" : mask(v, inObject);
  }
  // A Table's Age column is "<n>s" at the moment each side asked.
  if (inObject && out.kind === "Table" && Array.isArray(out.columnDefinitions) && Array.isArray(out.rows)) {
    const age = out.columnDefinitions.findIndex((c) => (c as { name?: string }).name === "Age");
    if (age >= 0) {
      for (const row of out.rows as { cells?: Json[] }[])
        if (row.cells && age < row.cells.length) row.cells[age] = "<age>";
    }
  }
  return out;
}

/** Fields holding API objects (a Status's details name the deleted object's uid). */
const objectFields = new Set(["requestObject", "responseObject", "responseStatus"]);
/** Fields that are never compared: they differ by nature between two requests. */
const unmatchable = new Set(["auditID", "requestReceivedTimestamp", "stageTimestamp"]);

function normalized(event: Event): Event {
  const out: Event = {};
  for (const [key, value] of Object.entries(event)) {
    if (!unmatchable.has(key)) out[key] = mask(value, objectFields.has(key));
  }
  return out;
}

const parsedBody = (body: string | undefined): Json | undefined => {
  try {
    return body === undefined ? undefined : mask(JSON.parse(body) as Json, true);
  } catch {
    return undefined;
  }
};

/** Equality that also requires the same key order (the log is JSON text; kube-apiserver's order). */
const sameText = (a: Json | undefined, b: Json | undefined) => JSON.stringify(a) === JSON.stringify(b);

// ---------------------------------------------------------------------------------------------
// The expected differences, in one table. Each says where it applies and what exactly the
// difference must be (`accepts`); a difference it does not accept is a failure.

interface Context {
  readonly spec: RequestSpec;
  /** The body the gateway was sent, parsed and masked; undefined when none or not JSON. */
  readonly sentBody: Json | undefined;
  readonly stage: string;
  readonly field: string;
  /** Normalized values; undefined when the field is absent. */
  readonly gateway: Json | undefined;
  readonly apiServer: Json | undefined;
}

interface KnownDifference {
  readonly why: string;
  readonly accepts: (c: Context) => boolean;
}

const authorizationAnnotations = ["authorization.k8s.io/decision", "authorization.k8s.io/reason"];
const without = (value: Json | undefined, keys: (key: string) => boolean): Json | undefined => {
  if (value === undefined || value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const rest = Object.fromEntries(Object.entries(value).filter(([key]) => !keys(key)));
  return Object.keys(rest).length > 0 ? rest : undefined;
};
const isEmptyMap = (value: Json | undefined) =>
  value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0;
/**
 * A ConfigMap as Go re-encodes it after decoding: empty maps left out (data, binaryData, labels,
 * annotations are omitempty) and a zero creationTimestamp written as null.
 */
const asReencoded = (value: Json | undefined): Json | undefined => {
  if (value === undefined || value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const top: { [key: string]: Json } = Object.fromEntries(
    Object.entries(value).filter(([k, v]) => !((k === "data" || k === "binaryData") && isEmptyMap(v))),
  );
  const metadata = value.metadata;
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) return top;
  return {
    ...top,
    metadata:
      without(
        metadata,
        (k) =>
          ((k === "labels" || k === "annotations") && isEmptyMap(metadata[k])) ||
          (k === "creationTimestamp" && metadata[k] === null),
      ) ?? {},
  };
};

const knownDifferences: Record<string, KnownDifference> = {
  "authorization annotations": {
    why:
      "kube-apiserver records its authorizer's decision and reason (k8s.io/apiserver@v0.37.2 " +
      "pkg/endpoints/filters/authorization.go, decisionAnnotationKey/reasonAnnotationKey) and, for a " +
      "request slower than 500 ms, its layer latencies (filters/audit.go writeLatencyToAnnotation); the " +
      "gateway does not authorize (the API server does, for the impersonated user) and has no such layers",
    accepts: ({ field, gateway, apiServer }) =>
      field === "annotations" &&
      sameText(
        gateway,
        without(apiServer, (k) => authorizationAnnotations.includes(k) || k.startsWith("apiserver.latency.k8s.io/")),
      ),
  },
  "request object re-encoded": {
    why:
      "kube-apiserver records a create's or update's body as the object it decoded, encoded again " +
      "(pkg/audit/request.go LogRequestObject → encodeObject): Go's field order, empty maps left out; " +
      "the gateway forwards the body as sent and records that: the same content in the client's order",
    accepts: ({ spec, sentBody, field, gateway, apiServer }) =>
      field === "requestObject" &&
      sameText(gateway, sentBody) &&
      ["create", "update", "create-invalid-name", "update-name-mismatch"].includes(spec.op) &&
      apiServer !== undefined &&
      isDeepStrictEqual(asReencoded(gateway), asReencoded(apiServer)),
  },
};

// ---------------------------------------------------------------------------------------------

interface Sent {
  readonly index: number;
  readonly spec: RequestSpec;
  readonly status: Record<Side, number>;
  /** The gateway's Audit-Id response header. */
  readonly gatewayAuditIdHeader: string | undefined;
}

const describeSpec = (s: Sent) =>
  `#${s.index} ${s.spec.who} ${s.spec.op} ${s.spec.op.startsWith("/") ? "" : `${s.spec.namespace}/${s.spec.name} `}` +
  `(direct ${s.status.xd}, gateway ${s.status.xg}${s.spec.table ? ", as Table" : ""}${s.spec.auditId ? ", client Audit-ID" : ""})`;

const show = (value: Json | undefined) => (value === undefined ? "(absent)" : JSON.stringify(value));

describe("audit differential: the gateway's audit events and kube-apiserver's own, same requests, same policy", {
  timeout: 1_200_000,
}, () => {
  let bed: TestBed;
  let apiServer: KubeApiServer;
  let gateway: RunningGateway | undefined;
  let gatewayError: unknown;
  let gatewayAuditLog: string;

  before(async () => {
    const log = (line: string) => console.log(line);
    // The bed's own kube-apiserver has the default policy; this one gets the differential's.
    const base = await startTestBed({ kubeApiServer: false, log });
    const binaries = await ensureKubeBinaries(log);
    apiServer = await startKubeApiServer({
      binaries,
      ca: base.ca,
      dir: join(base.dir, "kube-apiserver"),
      jwt: defaultJwtAuthenticators({ oidcProvider: base.issuer, caPem: base.ca.certPem }),
      auditPolicy,
      log,
    });
    bed = {
      ...base,
      apiServer,
      binaries,
      kubectl: (args, _as, input) =>
        kubectl({ kubectl: binaries.kubectl, kubeconfig: apiServer.adminKubeconfig, home: base.dir }, args, input),
      stop: async () => {
        await apiServer.stop().catch(() => {});
        await base.stop();
      },
    };
    const applied = await bed.kubectl(["apply", "-f", "-"], undefined, rbac);
    assert.equal(applied.code, 0, applied.stderr);
    const credentials = await prepareGatewayCredentials(bed, "audit-differential");
    gatewayAuditLog = join(bed.dir, "gateway-audit.log");
    const policyFile = join(bed.dir, "kube-apiserver", "audit-policy.json");
    try {
      gateway = await startTestGateway(credentials, [
        ...bedOidcFlags(bed),
        `--audit-policy-file=${policyFile}`,
        `--audit-log-path=${gatewayAuditLog}`,
        "--audit-log-format=json",
        "--audit-log-mode=blocking",
      ]);
      await gatewayReady(gateway);
    } catch (error) {
      // The API-server side still runs (and is checked) so the harness can be debugged alone.
      gatewayError = error;
    }
  });

  after(async () => {
    await gateway?.gateway.stop();
    await bed?.stop();
  });

  const mint = (who: Who) => {
    const user: (typeof users)[UserName] = who === "req" ? users.req : who === "quiet" ? users.quiet : users.dev;
    const now = Math.floor(Date.now() / 1000);
    return bed.mint({
      alg: "RS256",
      kid: "rsa-1",
      claims: {
        iss: bed.issuer.url,
        aud: who === "audience" ? clients.otherApp.id : clients.kubernetes.id,
        sub: `${user.email}-sub`,
        email: user.email,
        email_verified: true,
        groups: user.groups,
        iat: now - 30,
        exp: who === "expired" ? now - 600 : now + 600,
        ...(who === "dev-jti" ? { jti: `jti-${Math.random().toString(36).slice(2)}` } : {}),
      },
    });
  };

  it("every request's events match field by field, or differ only as listed", async () => {
    // The bindings reach kube-apiserver's RBAC cache within a moment.
    const probe = mint("dev");
    await waitFor(
      "the RoleBindings to apply",
      async () =>
        (
          await httpsRequest(`${apiServer.url}/api/v1/namespaces/audit-a/configmaps?kog-probe=1`, {
            ca: bed.ca.certPem,
            headers: { authorization: `Bearer ${probe}` },
          })
        ).status === 200,
      { timeoutMs: 20_000 },
    );

    const specs = fc.sample(requestSpec, propertyParameters(0.2));
    console.log(
      `audit differential: ${specs.length} requests; policy omitStages ${JSON.stringify(policyOmitStages)}, ` +
        `omitManagedFields ${policyOmitManagedFields}`,
    );
    const sent: Sent[] = [];
    for (const [index, spec] of specs.entries()) {
      const token = mint(spec.who);
      const send = async (side: Side) => {
        const base = side === "xd" ? apiServer.url : gateway?.url;
        if (!base) return { status: 0, header: undefined };
        const b = build(spec, side, index);
        const res = await httpsRequest(`${base}${b.path}`, {
          ca: bed.ca.certPem,
          method: b.method,
          headers: { ...b.headers, authorization: `Bearer ${token}` },
          body: b.body,
          timeoutMs: 30_000,
        });
        const header = res.headers["audit-id"];
        return { status: res.status, header: typeof header === "string" ? header : undefined };
      };
      const direct = await send("xd");
      const viaGateway = await send("xg");
      sent.push({
        index,
        spec,
        status: { xd: direct.status, xg: viaGateway.status },
        gatewayAuditIdHeader: viaGateway.header,
      });
    }

    const apiEvents = await settledEvents(apiServer.auditLogPath);
    const gatewayEvents = gateway ? await settledEvents(gatewayAuditLog) : [];
    const group = (events: Event[], side: Side, filter: (e: Event) => boolean = () => true) => {
      const out = new Map<number, Event[]>();
      for (const event of events) {
        const marker = markerOf(event);
        if (!marker || marker[1] !== side || !filter(event)) continue;
        out.set(marker[0], [...(out.get(marker[0]) ?? []), event]);
      }
      for (const list of out.values()) list.sort(byStage);
      return out;
    };
    const isForwarded = (e: Event) => (e.user as { username?: string } | null)?.username === gatewayTokenSubject;
    const direct = group(apiEvents, "xd");
    const forwarded = group(apiEvents, "xg", isForwarded);
    const viaGateway = group(gatewayEvents, "xg");

    // kube-apiserver's side on its own: the direct requests' events are its own (no impersonation),
    // keep the client's Audit-ID, and the None rule for the quiet user holds.
    const problems: string[] = [];
    const hits: Record<string, number> = Object.fromEntries(Object.keys(knownDifferences).map((k) => [k, 0]));
    let compared = 0;
    let fieldsEqual = 0;
    for (const s of sent) {
      const events = direct.get(s.index) ?? [];
      for (const e of events) {
        if (e.impersonatedUser !== undefined) problems.push(`${describeSpec(s)}: a direct request was impersonated`);
        if (s.spec.auditId && e.auditID !== `client-audit-${s.index}-xd`) {
          problems.push(`${describeSpec(s)}: kube-apiserver did not keep the client's Audit-ID: ${show(e.auditID)}`);
        }
      }
      if (s.spec.who === "quiet" && events.length > 0) problems.push(`${describeSpec(s)}: level None logged`);
    }
    // What reached kube-apiserver through the gateway came as the gateway's ServiceAccount.
    for (const [index, events] of group(apiEvents, "xg")) {
      for (const e of events.filter((e) => !isForwarded(e))) {
        const s = sent[index];
        problems.push(`${s ? describeSpec(s) : `#${index}`}: forwarded as ${show(e.user)}, not ${gatewayTokenSubject}`);
      }
    }
    assert.ok(direct.size > 0, "kube-apiserver logged the direct requests");

    // The bed's folder goes when it stops: the logs are kept for the person reading a failure.
    const keep = join(tmpdir(), `kog-audit-differential-${propertySeed}`);
    const keepLogs = async () => {
      await mkdir(keep, { recursive: true });
      await copyFile(apiServer.auditLogPath, join(keep, "kube-apiserver-audit.log"));
      await copyFile(gatewayAuditLog, join(keep, "gateway-audit.log")).catch(() => {});
      await writeFile(join(keep, "gateway.log"), `${gateway?.logs.join("\n") ?? ""}\n`);
    };
    if (!gateway) {
      await keepLogs();
      assert.deepEqual(problems, []);
      assert.fail(
        `the gateway did not start with the audit flags, so only kube-apiserver's side ran (${apiEvents.length} events): ${
          gatewayError instanceof Error ? gatewayError.message : String(gatewayError)
        }`,
      );
    }

    for (const s of sent) {
      const reference = direct.get(s.index) ?? [];
      const ours = viaGateway.get(s.index) ?? [];
      const where = describeSpec(s);
      if (s.status.xd !== s.status.xg) problems.push(`${where}: the response status differs`);
      const stagesOf = (list: Event[]) => list.map((e) => String(e.stage)).join(",");
      if (stagesOf(reference) !== stagesOf(ours)) {
        problems.push(
          `${where}: stages: gateway [${stagesOf(ours)}], kube-apiserver [${stagesOf(reference)}]` +
            `${ours[0] || reference[0] ? ` (levels ${show(ours[0]?.level)} / ${show(reference[0]?.level)})` : ""}`,
        );
      }
      for (const ref of reference) {
        const mine = ours.find((e) => e.stage === ref.stage);
        if (!mine) continue;
        compared++;
        const [g, a] = [normalized(mine), normalized(ref)];
        for (const field of new Set([...Object.keys(a), ...Object.keys(g)])) {
          if (sameText(g[field], a[field])) {
            fieldsEqual++;
            continue;
          }
          const context: Context = {
            sentBody: parsedBody(build(s.spec, "xg", s.index).body),
            spec: s.spec,
            stage: String(ref.stage),
            field,
            gateway: g[field],
            apiServer: a[field],
          };
          const known = Object.entries(knownDifferences).find(([, d]) => d.accepts(context));
          if (known) {
            hits[known[0]] = (hits[known[0]] ?? 0) + 1;
            continue;
          }
          problems.push(
            `${where} ${ref.stage} ${field}:\n    gateway:        ${show(g[field])}\n    kube-apiserver: ${show(a[field])}`,
          );
        }
      }

      // The auditID: the client's when it sent one, kept upstream; the gateway's own otherwise.
      const ids = new Set(ours.map((e) => String(e.auditID)));
      if (ids.size > 1) problems.push(`${where}: the gateway's stages carry ${ids.size} auditIDs`);
      const [auditID] = ids;
      if (auditID !== undefined) {
        if (s.spec.auditId && auditID !== `client-audit-${s.index}-xg`) {
          problems.push(`${where}: the gateway did not keep the client's Audit-ID: ${auditID}`);
        }
        if (!s.spec.auditId && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(auditID)) {
          problems.push(`${where}: the gateway's own auditID is no UUID: ${auditID}`);
        }
        if (s.gatewayAuditIdHeader !== auditID) {
          problems.push(`${where}: the Audit-Id response header ${show(s.gatewayAuditIdHeader)} is not ${auditID}`);
        }
        // Correlation: kube-apiserver's events for the forwarded request.
        const upstream = forwarded.get(s.index) ?? [];
        const refused = s.spec.who === "expired" || s.spec.who === "audience";
        if (!refused && upstream.length === 0)
          problems.push(`${where}: no kube-apiserver event for the forwarded request`);
        if (refused && upstream.length > 0) problems.push(`${where}: a refused token was forwarded`);
        for (const u of upstream) {
          if (u.auditID !== auditID) {
            problems.push(
              `${where}: the forwarded request's auditID ${show(u.auditID)} is not the gateway's ${auditID}`,
            );
          }
          if (!sameText(u.impersonatedUser, ours[0]?.user)) {
            problems.push(
              `${where}: the forwarded request's impersonatedUser ${show(u.impersonatedUser)} is not the gateway event's user ${show(ours[0]?.user)}`,
            );
          }
        }
      }
    }

    const summary = {
      seed: propertySeed,
      policyOmitStages,
      policyOmitManagedFields,
      requests: sent.length,
      statuses: Object.entries(
        sent.reduce<Record<string, number>>((acc, s) => {
          acc[s.status.xd] = (acc[s.status.xd] ?? 0) + 1;
          return acc;
        }, {}),
      )
        .map(([code, n]) => `${code}×${n}`)
        .join(" "),
      ops: Object.entries(
        sent.reduce<Record<string, number>>((acc, s) => {
          acc[s.spec.op] = (acc[s.spec.op] ?? 0) + 1;
          return acc;
        }, {}),
      )
        .map(([op, n]) => `${op}×${n}`)
        .join(" "),
      eventsCompared: compared,
      fieldsEqual,
      listedDifferencesHit: hits,
      problems: problems.length,
    };
    console.log(`audit differential: ${JSON.stringify(summary)}`);
    // A listed difference never seen is a stale entry (on a run big enough to meet each of them).
    if (sent.length >= 50) {
      for (const [key, count] of Object.entries(hits)) {
        if (count === 0) problems.push(`the listed difference "${key}" was never seen: is it still one?`);
      }
    }
    if (problems.length > 0) {
      await keepLogs();
      assert.fail(
        `${problems.length} differences not in knownDifferences (both logs kept in ${keep}):\n${problems.join("\n")}`,
      );
    }
  });
});
