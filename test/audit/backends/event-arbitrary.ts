// fast-check events for the differential tests against kube-apiserver's audit code: strings with
// quotes, backslashes, control characters, non-ASCII, characters Unicode assigned after Go's
// tables (15.0), lone surrogates (which Go's JSON decoder turns into U+FFFD), empty fields, and
// request/response objects from tiny to tens of kilobytes.
import fc from "fast-check";
import { encodeEvent, rawObjectOf } from "../../../src/audit/encode.ts";
import { type AuditEvent, levels, stages } from "../../../src/audit/types.ts";

const oddCharacters = [
  '"',
  "\\",
  "'",
  "\n",
  "\r",
  "\t",
  "\x00",
  "\x07",
  "\x1b",
  "\x7f",
  "\x80",
  "\x9f",
  "\u00a0",
  "\u00ad",
  "é",
  "\u2028",
  "\u2029",
  "\u200b",
  "\ufeff",
  "\ufffd",
  "\uffff",
  "\ud800",
  "\udfff",
  "<",
  ">",
  "&",
  "%",
  "日本",
  "\u{1f600}",
  "\u{10ffff}",
  "\u{e0001}",
  "\u{1cc00}", // Unicode 16: printable to Node 24, not to Go 1.26's IsPrint
  "\u{1fae9}", // Unicode 16 emoji
  "\u0378", // unassigned
];

export const oddString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: fc.constantFrom(...oddCharacters), maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ maxLength: 12 }),
  fc.constant(""),
);

const strings = fc.array(oddString, { maxLength: 4 });

const user = fc.record(
  { username: oddString, uid: oddString, groups: strings, extra: fc.dictionary(oddString, strings, { maxKeys: 2 }) },
  { requiredKeys: [] },
);

// Not a bare null: Go decodes "requestObject":null as no object (a nil *runtime.Unknown), and the
// API server never records one.
const jsonValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).filter((value) => value !== null),
  // Big objects: what truncation is for.
  fc.tuple(oddString, fc.integer({ min: 100, max: 40_000 })).map(([text, n]) => ({
    kind: "ConfigMap",
    data: { big: (text || "x").repeat(Math.ceil(n / Math.max(1, text.length))) },
  })),
);

// 1970 to 2100 in microseconds (MicroTime cannot encode years past 9999).
const micros = fc.integer({ min: 0, max: 4_102_444_800_000_000 });

export const auditEvent: fc.Arbitrary<AuditEvent> = fc
  .record(
    {
      level: fc.constantFrom(...levels),
      auditID: oddString,
      stage: fc.constantFrom(...stages),
      requestURI: oddString,
      verb: oddString,
      user,
      impersonatedUser: user,
      sourceIPs: strings,
      userAgent: oddString,
      objectRef: fc.record({ namespace: oddString, name: oddString, resource: oddString }, { requiredKeys: [] }),
      responseStatus: fc.record({ code: fc.integer({ min: 0, max: 599 }), message: oddString }, { requiredKeys: [] }),
      requestObject: jsonValue.map(rawObjectOf),
      responseObject: jsonValue.map(rawObjectOf),
      requestReceivedTimestampUs: micros,
      stageTimestampUs: micros,
      annotations: fc.dictionary(oddString, oddString, { maxKeys: 3 }),
    },
    {
      requiredKeys: [
        "level",
        "auditID",
        "stage",
        "requestURI",
        "verb",
        "user",
        "requestReceivedTimestampUs",
        "stageTimestampUs",
      ],
    },
  )
  .map((e) => e as AuditEvent);

/**
 * The event as the oracle is given it: its JSON, but an impersonated user's empty group list
 * written out ([] rather than left out), so Go sees the non-nil empty slice the event holds.
 */
export function oracleEvent(event: AuditEvent): Record<string, unknown> {
  const json = JSON.parse(encodeEvent(event)) as Record<string, unknown>;
  if (event.impersonatedUser?.groups?.length === 0) {
    json.impersonatedUser = { ...(json.impersonatedUser as object), groups: [] };
  }
  return json;
}
