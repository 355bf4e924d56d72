// Property tests of the Impersonate-* writer and reader (src/apiserver/impersonation-headers.ts and
// nested-impersonation.ts): any identity either travels byte for byte — what kube-apiserver
// reads back from the header is what the token said — or is refused with a 401 StatusError;
// never a header Node would refuse to write or Go would read differently.
import assert from "node:assert/strict";
import { validateHeaderName, validateHeaderValue } from "node:http";
import { describe, it } from "node:test";
import fc from "fast-check";
import { escapeExtraKey, headerValue, impersonationHeaders } from "../../src/apiserver/impersonation-headers.ts";
import type { UserInfo } from "../../src/authn/user.ts";
import { requestedImpersonation } from "../../src/proxy/nested-impersonation.ts";
import { StatusError } from "../../src/proxy/status.ts";
import { propertyParameters } from "../helpers/property-seed.ts";

/** What Go's server reads from a header value Node wrote as latin1 chars: the bytes as UTF-8. */
const goReads = (value: string) => Buffer.from(value, "latin1").toString("utf8");
/** What a token's JSON string becomes in Go: lone surrogates are U+FFFD. */
const goString = (value: string) => value.toWellFormed();
/** Whether a value can cross as an HTTP header unchanged (Node writes it, Go does not trim it). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what cannot travel
const carriable = (value: string) => !/[\0-\x08\n-\x1f\x7f]/.test(value) && !/^[ \t]|[ \t]$/.test(value);
const asciiLower = (key: string) => key.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** Go's url.PathUnescape of kube-apiserver's lower-cased header suffix. */
const unescapeExtraKey = (escaped: string) => decodeURIComponent(escaped.toLowerCase());

const text = fc.oneof(
  fc.string({ unit: "binary", maxLength: 24 }),
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.constantFrom(
    "jane@example.com",
    " system:admin",
    "x\r\nImpersonate-User: admin",
    "a\tb",
    "\u202eadmin",
    "\ud800",
    "",
  ),
);
const user = fc.record({
  username: text,
  uid: fc.option(text, { nil: undefined }),
  groups: fc.array(text, { maxLength: 4 }),
  extra: fc.dictionary(text, fc.array(text, { minLength: 1, maxLength: 3 }), { maxKeys: 3 }),
});

describe("Impersonate-* headers for any identity", () => {
  it("are refused with a 401 StatusError exactly when a value cannot travel unchanged", () => {
    fc.assert(
      fc.property(user, (u: UserInfo) => {
        const values = [u.username, ...(u.uid ? [u.uid] : []), ...u.groups, ...Object.values(u.extra).flat()];
        let headers: readonly (readonly [string, string])[];
        try {
          headers = impersonationHeaders(u);
        } catch (error) {
          assert.ok(error instanceof StatusError, String(error));
          assert.equal(error.httpStatus, 401);
          assert.equal(error.code, "UNSAFE_IDENTITY");
          assert.ok(
            values.some((v) => !carriable(v)),
            "refused an identity that could travel",
          );
          return;
        }
        assert.ok(values.every(carriable), "wrote an identity that cannot travel unchanged");
        for (const [name, value] of headers) {
          validateHeaderName(name);
          validateHeaderValue(name, value);
          assert.doesNotMatch(value, /[\0\r\n]/);
        }
      }),
      propertyParameters(),
    );
  });

  it("round-trip through kube-apiserver's reading of the headers", () => {
    fc.assert(
      fc.property(user, (u: UserInfo) => {
        let headers: readonly (readonly [string, string])[];
        try {
          headers = impersonationHeaders(u);
        } catch {
          return;
        }
        const read = {
          user: "",
          uid: undefined as string | undefined,
          groups: [] as string[],
          extra: {} as Record<string, string[]>,
        };
        for (const [name, value] of headers) {
          const lower = name.toLowerCase();
          if (lower === "impersonate-user") read.user = goReads(value);
          else if (lower === "impersonate-uid") read.uid = goReads(value);
          else if (lower === "impersonate-group") read.groups.push(goReads(value));
          else {
            const key = unescapeExtraKey(name.slice("Impersonate-Extra-".length));
            read.extra[key] = [...(read.extra[key] ?? []), goReads(value)];
          }
        }
        assert.equal(read.user, goString(u.username));
        assert.equal(read.uid, u.uid ? goString(u.uid) : undefined);
        assert.deepEqual(read.groups, u.groups.map(goString));
        const expectedExtra: Record<string, string[]> = {};
        for (const [key, values] of Object.entries(u.extra)) {
          const k = goString(asciiLower(key));
          expectedExtra[k] = [...(expectedExtra[k] ?? []), ...values.map(goString)];
        }
        assert.deepEqual(read.extra, expectedExtra);
      }),
      propertyParameters(),
    );
  });

  it("are read back by the nested-impersonation reader as written (regression: UTF-8 values were read as latin1)", () => {
    fc.assert(
      fc.property(user, (u: UserInfo) => {
        fc.pre(goString(u.username) !== "");
        let headers: readonly (readonly [string, string])[];
        try {
          headers = impersonationHeaders(u);
        } catch {
          return;
        }
        const requested = requestedImpersonation(headers.flat());
        assert.equal(requested?.user, goString(u.username));
        assert.equal(requested?.uid, u.uid ? goString(u.uid) : undefined);
        assert.deepEqual(requested?.groups, u.groups.map(goString));
      }),
      propertyParameters(),
    );
    assert.equal(requestedImpersonation(["Impersonate-User", Buffer.from("jöhn").toString("latin1")])?.user, "jöhn");
  });

  it("refuses a client value that is not UTF-8 with a 400 instead of guessing", () => {
    assert.throws(
      () => requestedImpersonation(["Impersonate-User", "\u00ff\u00fe"]),
      (error: unknown) => error instanceof StatusError && error.httpStatus === 400,
    );
  });
});

describe("headerValue", () => {
  it("refuses blanks at either end, which Go trims (regression: ' system:kube-controller-manager' ran as system:kube-controller-manager)", () => {
    for (const value of [" system:admin", "admin\t", "\tadmin", "admin "]) {
      assert.throws(() => headerValue(value), StatusError, JSON.stringify(value));
    }
  });

  it("refuses every control character but HTAB (regression: an ESC in a claim left the request hanging, its rejection unhandled)", () => {
    for (let c = 0; c < 0x20; c++) {
      if (c === 0x09) continue;
      assert.throws(() => headerValue(`a${String.fromCharCode(c)}b`), StatusError, `0x${c.toString(16)}`);
    }
    assert.throws(() => headerValue("a\u007fb"), StatusError);
    assert.equal(goReads(headerValue("a\tb")), "a\tb");
  });
});

describe("escapeExtraKey (client-go's headerKeyEscape)", () => {
  it("writes only header token characters and unescapes to the key", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (key) => {
        const escaped = escapeExtraKey(key);
        assert.match(escaped, /^[!#$%&'*+\-.^_`|~0-9A-Za-z]*$/);
        validateHeaderName(`Impersonate-Extra-${escaped || "x"}`);
        assert.equal(decodeURIComponent(escaped), goString(key));
      }),
      propertyParameters(),
    );
  });

  it("lower-cases only ASCII letters of a key, as kube-apiserver's reading does (regression: non-ASCII keys were lower-cased)", () => {
    const headers = impersonationHeaders({ username: "u", groups: [], extra: { "Ä.example/KEY": ["v"] } });
    const name = headers.find(([n]) => n.startsWith("Impersonate-Extra-"))?.[0] ?? "";
    assert.equal(unescapeExtraKey(name.slice("Impersonate-Extra-".length)), "Ä.example/key");
  });
});
