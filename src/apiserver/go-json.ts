// Decoding a token's JSON the way kube-apiserver's Go code does, so that odd or hostile tokens
// get the same decision. Go's encoding/json differs from JSON.parse-and-check in ways that
// matter here: struct fields match keys case-insensitively (go-oidc's idToken struct), `null`
// leaves a string empty instead of failing, and an array of strings may hold nulls (""); and
// invalid UTF-8 turns into U+FFFD one byte at a time, lone \u surrogate escapes one escape at a
// time (go1.26 src/encoding/json/decode.go unquoteBytes), where TextDecoder and JSON.parse differ.
import { isUtf8 } from "node:buffer";

/** Strict base64url without padding (Go's base64.RawURLEncoding). */
export function decodeRawBase64Url(segment: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(segment) || segment.length % 4 === 1) return undefined;
  return Buffer.from(segment, "base64url");
}

/** encoding/json's key folding for ASCII field names, including its two non-ASCII folds. */
export function foldEquals(key: string, field: string): boolean {
  if (key.length !== field.length) return false;
  return key.replaceAll("\u017f", "s").replaceAll("\u212a", "k").toLowerCase() === field;
}

/** One member of a JSON object as it stands in the text: its name, value and the value's text. */
export interface Member {
  readonly name: string;
  readonly value: unknown;
  readonly text: string;
}

/**
 * Every member of a top-level JSON object in document order, duplicates included, names and
 * values decoded as goJsonParse decodes them. encoding/json applies each member to a struct in
 * turn (decode.go object), so a struct field's final value can depend on a member JSON.parse has
 * overwritten: `{"iss":"x","iss":null}` leaves "x" in Go (null into a string is a no-op).
 * `text` is valid JSON (it was parsed); undefined if it is not an object.
 */
export function topLevelMembers(text: string): Member[] | undefined {
  const members: Member[] = [];
  let i = skipSpace(text, 0);
  if (text[i] !== "{") return undefined;
  i = skipSpace(text, i + 1);
  while (i < text.length && text[i] === '"') {
    const nameEnd = stringEnd(text, i);
    const name = goJsonParse(text.slice(i, nameEnd)) as string;
    const start = skipSpace(text, skipSpace(text, nameEnd) + 1); // past the colon
    let depth = 0;
    let end = start;
    for (; end < text.length; end++) {
      const c = text[end];
      if (c === '"') end = stringEnd(text, end) - 1;
      else if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") {
        if (depth-- === 0) break;
      } else if (c === "," && depth === 0) break;
    }
    const valueText = text.slice(start, end).trimEnd();
    members.push({ name, value: goJsonParse(valueText), text: valueText });
    if (text[end] !== ",") break;
    i = skipSpace(text, end + 1);
  }
  return members;
}

const skipSpace = (text: string, i: number) => {
  while (i < text.length && " \t\r\n".includes(text[i] ?? "")) i++;
  return i;
};

/** The index just past the JSON string starting at `i` (a quote). */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === "\\") j++;
    else if (text[j] === '"') return j + 1;
  }
  return text.length;
}

/**
 * Bytes as the text encoding/json reads them: valid UTF-8 as is, and each byte that does not
 * begin a valid sequence (unicode/utf8 DecodeRune returning RuneError, 1) as one U+FFFD.
 * Buffer's decoder (WHATWG) instead replaces a truncated sequence as a whole: "\xe2\x82A" is
 * one U+FFFD there and two in Go. Outside strings such bytes are a syntax error either way.
 */
export function goUtf8Decode(bytes: Uint8Array): string {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buffer)) return buffer.toString("utf8");
  let text = "";
  let start = 0;
  let i = 0;
  while (i < buffer.length) {
    const size = utf8SequenceLength(buffer, i);
    if (size > 0) {
      i += size;
      continue;
    }
    text += `${buffer.toString("utf8", start, i)}\ufffd`;
    i += 1;
    start = i;
  }
  return text + buffer.toString("utf8", start);
}

/** unicode/utf8's acceptance ranges (utf8.go first/acceptRanges): a valid sequence's length at `i`, else 0. */
function utf8SequenceLength(b: Buffer, i: number): number {
  const c0 = b[i] ?? 0;
  if (c0 < 0x80) return 1;
  const cont = (j: number, lo = 0x80, hi = 0xbf) => {
    const c = b[i + j];
    return c !== undefined && c >= lo && c <= hi;
  };
  if (c0 >= 0xc2 && c0 <= 0xdf) return cont(1) ? 2 : 0;
  if (c0 >= 0xe0 && c0 <= 0xef) {
    const [lo, hi] = c0 === 0xe0 ? [0xa0, 0xbf] : c0 === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c0 >= 0xf0 && c0 <= 0xf4) {
    const [lo, hi] = c0 === 0xf0 ? [0x90, 0xbf] : c0 === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/** A \u escape of a surrogate somewhere in the text (maybe after an escaped backslash: only a hint). */
const surrogateEscape = /\\u[dD][89a-fA-F]/;

/**
 * JSON.parse, then what encoding/json's unquote does to \u escapes of lone surrogates: each
 * becomes U+FFFD (a valid pair is one character in both). JSON.parse keeps them as lone UTF-16
 * code units, which compare, measure and encode differently. `text` comes from goUtf8Decode.
 * Throws JSON.parse's SyntaxError.
 */
export function goJsonParse(text: string): unknown {
  let value: unknown = JSON.parse(text);
  if (text.includes("\\") && hasEscapedKey(text)) value = parseKeyByKey(text);
  return surrogateEscape.test(text) ? wellFormed(value) : value;
}

/**
 * Whether an object key in valid JSON text is written with an escape. Node 24.21's JSON.parse can
 * decode such a key wrongly once an earlier parse in the process saw the key "\\" at the same
 * place in an object's shape (nodejs/node#63785, V8 crbug 521080746): after a token header
 * `{"alg":…,"\\\\":0}`, a payload's `{"a":{"\\u0062":1}}` would read as the key "\\" where
 * encoding/json reads "b". A string parsed on its own is not affected.
 */
function hasEscapedKey(text: string): boolean {
  const containers: boolean[] = []; // true: an object
  let atKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const end = stringEnd(text, i);
      if (atKey && containers[containers.length - 1] && text.slice(i, end).includes("\\")) return true;
      atKey = false;
      i = end - 1;
    } else if (c === "{" || c === "[") {
      containers.push(c === "{");
      atKey = c === "{";
    } else if (c === "}" || c === "]") {
      containers.pop();
      atKey = false;
    } else if (c === ",") {
      atKey = containers[containers.length - 1] === true;
    }
  }
  return false;
}

/**
 * JSON.parse of valid JSON text, building each object member by member with its key parsed as a
 * string of its own, which the V8 bug above does not touch. Same values, same key order (a repeated
 * key keeps its first place and its last value, as JSON.parse does), "__proto__" an own property.
 * A loop over an explicit stack, not recursion: encoding/json takes 10,000 levels of nesting.
 */
function parseKeyByKey(text: string): unknown {
  const open: (Record<string, unknown> | unknown[])[] = [];
  let key = ""; // the innermost object's member being read
  let result: unknown;
  let i = 0;
  const readKey = () => {
    i = skipSpace(text, i);
    const end = stringEnd(text, i);
    key = JSON.parse(text.slice(i, end)) as string;
    i = skipSpace(text, end) + 1; // past the colon
  };
  const place = (value: unknown) => {
    const into = open[open.length - 1];
    if (into === undefined) result = value;
    else if (Array.isArray(into)) into.push(value);
    else Object.defineProperty(into, key, { value, enumerable: true, writable: true, configurable: true });
  };
  for (;;) {
    i = skipSpace(text, i);
    const c = text[i];
    if (c === ",") {
      i++;
      if (!Array.isArray(open[open.length - 1])) readKey();
    } else if (c === "}" || c === "]") {
      i++;
      open.pop();
      if (open.length === 0) return result;
    } else if (c === "{" || c === "[") {
      const container = c === "{" ? {} : [];
      place(container);
      open.push(container);
      i = skipSpace(text, i + 1);
      if (c === "{" && text[i] !== "}") readKey();
    } else {
      const start = i;
      if (c === '"') i = stringEnd(text, i);
      else while (i < text.length && !",}] \t\r\n".includes(text[i] ?? "")) i++;
      place(JSON.parse(text.slice(start, i)));
      if (open.length === 0) return result;
    }
  }
}

/** Replaces lone surrogates in every string and key, in place (JSON.parse's fresh objects). */
function wellFormed(value: unknown): unknown {
  if (typeof value === "string") return value.isWellFormed() ? value : value.toWellFormed();
  if (value === null || typeof value !== "object") return value;
  const object = value as Record<string, unknown>;
  for (const [key, member] of Object.entries(object)) {
    const fixed = wellFormed(member);
    if (key.isWellFormed()) {
      if (fixed !== member) object[key] = fixed;
    } else {
      delete object[key];
      // defineProperty: a plain assignment to "__proto__" would set the prototype.
      Object.defineProperty(object, key.toWellFormed(), {
        value: fixed,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return object;
}

export class GoTypeError extends Error {}

const typeName = (value: unknown) => (Array.isArray(value) ? "array" : value === null ? "null" : typeof value);

/** json.Unmarshal into a Go string: null leaves "", anything but a string fails. */
export function goString(value: unknown): string {
  if (value === null) return "";
  if (typeof value === "string") return value;
  throw new GoTypeError(`json: cannot unmarshal ${typeName(value)} into Go value of type string`);
}

/** json.Unmarshal into a Go bool: null leaves false. */
export function goBool(value: unknown): boolean {
  if (value === null) return false;
  if (typeof value === "boolean") return value;
  throw new GoTypeError(`json: cannot unmarshal ${typeName(value)} into Go value of type bool`);
}

/** json.Unmarshal into []string: null gives none, null elements give "". */
export function goStringSlice(value: unknown): string[] {
  if (value === null) return [];
  if (!Array.isArray(value))
    throw new GoTypeError(`json: cannot unmarshal ${typeName(value)} into Go value of type []string`);
  return value.map(goString);
}

/** kube-apiserver's stringOrArray (oidc.go): an array of strings, else one string. */
export function goStringOrArray(value: unknown): string[] {
  try {
    return goStringSlice(value);
  } catch {
    return [goString(value)];
  }
}

/** encoding/json's scanner limit (maxNestingDepth): a document nested deeper does not decode. */
export const goMaxNestingDepth = 10_000;

/** Whether `text` nests arrays and objects deeper than encoding/json accepts (strings skipped). */
export function exceedsGoNestingDepth(text: string, max = goMaxNestingDepth): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped char
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
