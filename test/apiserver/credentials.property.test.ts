// Property tests of where a token is read from (src/apiserver/credentials.ts) against a model of
// kube-apiserver's readers written from the Go source: bearertoken.go (TrimSpace, SplitN(…, " ",
// 3), case-insensitive "bearer") and websocket/protocol.go (bearer subprotocol, strict raw
// base64url, valid UTF-8, at least one other subprotocol).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bearerToken, goTrimSpace, websocketProtocolToken } from "../../src/apiserver/credentials.ts";
import { AuthenticationError } from "../../src/authn/errors.ts";
import { propertyParameters } from "../helpers/property-seed.ts";

const prefix = "base64url.bearer.authorization.k8s.io.";

// unicode.IsSpace, by code point; a header value reaches both readers as bytes.
const spaceRunes = [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000];
for (let cp = 0x2000; cp <= 0x200a; cp++) spaceRunes.push(cp);
const spaceBytes = spaceRunes.map((cp) => Buffer.from(String.fromCodePoint(cp), "utf8"));

/** strings.TrimSpace on bytes: whole UTF-8 space runes off both ends. */
function modelTrimSpace(bytes: Buffer): Buffer {
  let start = 0;
  let end = bytes.length;
  for (let moved = true; moved; ) {
    moved = false;
    for (const s of spaceBytes) {
      if (end - start >= s.length && bytes.subarray(start, start + s.length).equals(s)) {
        start += s.length;
        moved = true;
      }
    }
  }
  for (let moved = true; moved; ) {
    moved = false;
    for (const s of spaceBytes) {
      if (end - start >= s.length && bytes.subarray(end - s.length, end).equals(s)) {
        end -= s.length;
        moved = true;
      }
    }
  }
  return bytes.subarray(start, end);
}

const latin1 = (b: Buffer) => b.toString("latin1");

function modelBearer(header: string): string | undefined {
  const auth = latin1(modelTrimSpace(Buffer.from(header, "latin1")));
  if (auth === "") return undefined;
  const parts = auth.split(" ");
  if (parts.length < 2 || parts[0]?.toLowerCase() !== "bearer") return undefined;
  return parts[1] === "" ? undefined : parts[1];
}

type ProtocolVerdict = { error: string } | { token: string; remaining: string } | undefined;

function modelProtocols(headers: string[]): ProtocolVerdict {
  let token = "";
  let saw = false;
  const filtered: string[] = [];
  for (const header of headers) {
    for (const raw of header.split(",")) {
      const protocol = latin1(modelTrimSpace(Buffer.from(raw, "latin1")));
      if (!protocol.startsWith(prefix)) {
        filtered.push(protocol);
        continue;
      }
      if (saw) return { error: "multiple" };
      saw = true;
      const encoded = protocol.slice(prefix.length);
      if (!/^[A-Za-z0-9_-]*$/.test(encoded) || encoded.length % 4 === 1) return { error: "encoding" };
      const decoded = Buffer.from(encoded, "base64url");
      try {
        token = new TextDecoder("utf-8", { fatal: true }).decode(decoded);
      } catch {
        return { error: "utf8" };
      }
    }
  }
  if (token.length > 0 && filtered.length === 0) return { error: "missing" };
  if (token.length === 0) return undefined;
  return { token, remaining: filtered.join(",") };
}

/** Header values as Node hands them over: latin1 chars, no CR/LF/NUL, no blanks at the ends. */
const headerText = (alphabet: fc.Arbitrary<string>) =>
  fc.array(alphabet, { maxLength: 40 }).map((chars) => chars.join("").replace(/^[ \t]+|[ \t]+$/g, ""));
const latin1Char = fc
  .integer({ min: 0x09, max: 0xff })
  .filter((c) => c !== 0x0a && c !== 0x0d && c !== 0x7f)
  .map((c) => String.fromCharCode(c));
const spaceChunk = fc.constantFrom(...spaceBytes.map(latin1));
const tokenish = fc.oneof(
  fc.constantFrom("Bearer", "bearer", "BEARER", "Basic", " ", "  ", "eyJhbGciOiJSUzI1NiJ9.e30.sig", "."),
  spaceChunk,
  latin1Char,
);

describe("the Authorization header reader against kube-apiserver's", () => {
  it("reads the same token from any header value", () => {
    fc.assert(
      fc.property(headerText(tokenish), (header) => {
        assert.equal(bearerToken(header), modelBearer(header));
      }),
      propertyParameters(),
    );
  });

  it("finds a well-formed token behind Go's white space, and never a token that is not there", () => {
    fc.assert(
      fc.property(
        fc.array(spaceChunk, { maxLength: 3 }),
        fc.stringMatching(/^[A-Za-z0-9._-]{1,60}$/),
        fc.array(spaceChunk, { maxLength: 3 }),
        (before, token, afterSpace) => {
          const header = `${before.join("")}Bearer ${token}${afterSpace.join("")}`;
          assert.equal(bearerToken(header), modelBearer(header));
        },
      ),
      propertyParameters(),
    );
  });

  it("strips a UTF-8 no-break space as Go does, and keeps a lone 0xA0 byte (regression: String.trim differed)", () => {
    assert.equal(bearerToken("Bearer abc\u00c2\u00a0"), "abc");
    assert.equal(bearerToken("Bearer abc\u00a0"), "abc\u00a0");
    assert.equal(goTrimSpace("\u00e3\u0080\u0080x\u00e2\u0080\u0089"), "x");
  });
});

describe("the WebSocket bearer subprotocol reader against kube-apiserver's", () => {
  const protocol = fc.oneof(
    fc.constantFrom("v4.channel.k8s.io", "channel.k8s.io", "", " ", "base64.channel.k8s.io"),
    fc.string({ unit: "binary", maxLength: 12 }).map((t) => `${prefix}${Buffer.from(t, "utf8").toString("base64url")}`),
    fc.uint8Array({ maxLength: 12 }).map((b) => `${prefix}${Buffer.from(b).toString("base64url")}`),
    fc.stringMatching(/^[A-Za-z0-9_=!*-]{0,8}$/).map((s) => `${prefix}${s}`),
    fc.constantFrom(...spaceBytes.map(latin1)).map((s) => `${s}${prefix}dG9rZW4${s}`),
  );
  const headers = fc.array(
    fc.array(protocol, { minLength: 1, maxLength: 4 }).map((p) => p.join(",")),
    { maxLength: 3 },
  );

  it("takes the same token, keeps the same other protocols, and refuses what it refuses", () => {
    fc.assert(
      fc.property(headers, (values) => {
        const expected = modelProtocols(values);
        let actual: ProtocolVerdict;
        try {
          actual = websocketProtocolToken(values);
        } catch (error) {
          assert.ok(error instanceof AuthenticationError, String(error));
          assert.equal(error.code, "WEBSOCKET_PROTOCOL");
          assert.ok(expected && "error" in expected, `refused (${error.message}) what kube-apiserver reads`);
          return;
        }
        assert.deepEqual(actual, expected);
      }),
      propertyParameters(),
    );
  });
});
