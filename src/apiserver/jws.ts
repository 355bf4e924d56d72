// A compact JWS (an id token) as kube-apiserver reads it before and while go-oidc v2.5.0 hands it
// to go-jose v2.6.3 (gopkg.in/go-jose/go-jose.v2@v2.6.3 jws.go ParseSigned/parseSignedCompact,
// shared.go rawHeader.sanitized, signing.go DetachedVerify, asymmetric.go verifyPayload): the
// unverified issuer kube-apiserver routes on (k8s.io/apiserver@v0.37.2
// plugin/pkg/authenticator/token/oidc/oidc.go untrustedIssuer), the protected header's typed
// fields, and the signature against an issuer's keys.
import {
  createHash,
  createPublicKey,
  constants as cryptoConstants,
  type JsonWebKey,
  type KeyObject,
  verify,
  X509Certificate,
} from "node:crypto";
import { AuthenticationError } from "../authn/errors.ts";
import type { IssuerKeys } from "../authn/issuer-keys.ts";
import { exceedsGoNestingDepth, foldEquals, goJsonParse, goUtf8Decode } from "./go-json.ts";

/** go-jose's ParseSigned of the token: what its signature covers, or why it does not parse. */
export interface CompactJws {
  /** ParseSigned's error; the token is malformed for go-oidc when set. */
  readonly error?: string;
  /** The protected header's bytes, re-encoded as computeAuthData signs them. */
  readonly protectedSegment: string;
  readonly payload: Buffer;
  readonly signature: Buffer;
}

/** A token split and decoded once, before any issuer looks at it. */
export interface ParsedToken {
  readonly raw: string;
  /** The unverified `iss`, decoded as kube-apiserver's untrustedIssuer does. */
  readonly issuer: string;
  /**
   * The `iss` claim as encoding/json decodes it into a struct's string field (go-oidc's
   * idToken.Issuer too): every member whose name folds to "iss", in order, a null one a no-op.
   */
  readonly issClaim?: string;
  /** The protected header as go-jose decodes it ({} when it is no JSON object). */
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  /** The payload's JSON text as encoding/json reads the bytes (goUtf8Decode). */
  readonly payloadText: string;
  /** go-jose's reading of the compact form; parsed from `raw` when absent. */
  readonly jws?: CompactJws;
}

/**
 * Go's base64.RawURLEncoding.DecodeString (encoding/base64): the URL alphabet without `=`,
 * '\r' and '\n' skipped, a lone trailing character refused, the spare bits of the last
 * character ignored (the encoding is not Strict).
 */
export function goRawUrlDecode(segment: string): Buffer | undefined {
  const text = segment.includes("\r") || segment.includes("\n") ? segment.replace(/[\r\n]/g, "") : segment;
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  return Buffer.from(text, "base64url");
}

/** Go's base64.StdEncoding.DecodeString: the standard alphabet, `=` padding required. */
function goStdDecode(text: string): Buffer | undefined {
  const clean = text.includes("\r") || text.includes("\n") ? text.replace(/[\r\n]/g, "") : text;
  if (clean.length % 4 !== 0 || !/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(clean)) {
    return undefined;
  }
  return Buffer.from(clean, "base64");
}

/**
 * go-jose's stripWhitespace (encoding.go): every rune unicode.IsSpace holds, anywhere. The token
 * comes from an HTTP header as Latin-1 characters, one per byte; Go ranges over those bytes as
 * UTF-8, so a U+00A0 sent as UTF-8 is white space and a lone 0xA0 byte is not.
 */
function stripWhitespace(raw: string): string {
  if (!/[^\x21-\x7e]/.test(raw)) return raw;
  const latin1 = /[\u0080-\u00ff]/.test(raw) && !/[\u0100-\uffff]/.test(raw);
  const text = latin1 ? Buffer.from(raw, "latin1").toString("utf8") : raw;
  // unicode.IsSpace is Unicode's White_Space property.
  return text.replace(/\p{White_Space}/gu, "");
}

const malformed = (detail: string) => ({
  error: detail,
  protectedSegment: "",
  payload: Buffer.alloc(0),
  signature: Buffer.alloc(0),
});

/** go-jose v2.6.3 ParseSigned on a compact token, and the protected header it decodes. */
function parseSignedCompact(
  raw: string,
  decodedPayload?: Buffer,
): { jws: CompactJws; header: Record<string, unknown> } {
  const stripped = stripWhitespace(raw);
  const parts = stripped.split(".");
  if (parts.length !== 3)
    return { jws: malformed("go-jose/go-jose: compact JWS format must have three parts"), header: {} };
  // The payload untrustedIssuer decoded is the same segment unless white space was stripped.
  const protectedBytes = goRawUrlDecode(parts[0] ?? "");
  const payload = decodedPayload && stripped === raw ? decodedPayload : goRawUrlDecode(parts[1] ?? "");
  const signature = goRawUrlDecode(parts[2] ?? "");
  if (!protectedBytes || !payload || !signature) {
    return { jws: malformed("illegal base64 data"), header: {} };
  }
  const jws = { protectedSegment: protectedBytes.toString("base64url"), payload, signature };
  // rawJSONWebSignature.sanitized: an empty protected header is no header at all.
  if (protectedBytes.length === 0) return { jws, header: {} };
  const text = goUtf8Decode(protectedBytes);
  let header: unknown;
  try {
    header = goJsonParse(text);
  } catch (error) {
    return { jws: { ...jws, error: (error as Error).message }, header: {} };
  }
  // json.Unmarshal into rawHeader (a map): an object, or null for an empty one.
  if (header === null) return { jws, header: {} };
  if (typeof header !== "object" || Array.isArray(header)) {
    return { jws: { ...jws, error: "json: cannot unmarshal into Go value of type jose.rawHeader" }, header: {} };
  }
  const fields = header as Record<string, unknown>;
  const invalid = forkedJsonProblem(text) ?? sanitizeHeader(fields);
  return { jws: invalid ? { ...jws, error: invalid } : jws, header: fields };
}

/**
 * What go-jose's own JSON package (gopkg.in/go-jose/go-jose.v2/json, a fork of Go 1.6's
 * encoding/json; its README) refuses in valid JSON text, as rawHeader.sanitized decodes every
 * non-null header value: a duplicate member name at any depth (compared unquoted, a lone
 * surrogate read as U+FFFD), and a number beyond float64 (interface{} values are float64).
 * It has no nesting limit; its member matching is case-sensitive.
 */
function forkedJsonProblem(text: string): string | undefined {
  // Each open container: the member names seen, and whether a name comes next (objects only).
  const stack: { names: Set<string> | undefined; nameNext: boolean }[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      const top = stack.at(-1);
      if (top?.names && top.nameNext) {
        const name = (JSON.parse(text.slice(i, end + 1)) as string).toWellFormed();
        if (top.names.has(name)) return `json: duplicate key '${name}' in object`;
        top.names.add(name);
        top.nameNext = false;
      }
      i = end;
    } else if (c === "{" || c === "[") {
      stack.push({ names: c === "{" ? new Set() : undefined, nameNext: c === "{" });
    } else if (c === "}" || c === "]") {
      stack.pop();
    } else if (c === ",") {
      const top = stack.at(-1);
      if (top?.names) top.nameNext = true;
    } else if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) {
      let end = i + 1;
      while (end < text.length && /[0-9eE.+-]/.test(text[end] ?? "")) end++;
      if (!Number.isFinite(Number(text.slice(i, end)))) {
        return `json: cannot unmarshal number ${text.slice(i, end)} into Go value of type float64`;
      }
      i = end - 1;
    }
  }
  return undefined;
}

/**
 * encoding/json's decoding of one string field of a struct from an object's text (decode.go
 * object): members are applied in order, each name matching exactly or case-folded, so of
 * duplicates the last non-null one stays (null into a string is a no-op), and a member of any
 * other type is an error (undefined). JSON.parse keeps only the last duplicate, so the text is
 * scanned. `text` must be valid JSON.
 */
export function goStructString(text: string, field: string): string | undefined {
  let value = "";
  let depth = 0;
  let nameNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "{" || c === "[") {
      depth++;
      nameNext = c === "{" && depth === 1;
    } else if (c === "}" || c === "]") {
      depth--;
    } else if (c === "," && depth === 1) {
      nameNext = true;
    } else if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      if (depth === 1 && nameNext) {
        nameNext = false;
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        if (name === field || foldEquals(name, field)) {
          // The member's value: skip the colon and white space.
          let start = end + 1;
          while (/[\s:]/.test(text[start] ?? "")) start++;
          if (text[start] === '"') {
            let close = start + 1;
            while (text[close] !== '"') close += text[close] === "\\" ? 2 : 1;
            value = JSON.parse(text.slice(start, close + 1)) as string;
            end = close;
          } else if (text.startsWith("null", start)) {
            end = start + 3;
          } else {
            return undefined;
          }
        }
      }
      i = end;
    }
  }
  return value;
}

/** kube-apiserver's untrustedIssuer plus go-jose's parse; undefined when no issuer can claim it. */
export function parseToken(raw: string): ParsedToken | undefined {
  // untrustedIssuer: strings.TrimSpace is Unicode white space (JavaScript's trim adds U+FEFF).
  if (raw.replace(/^\p{White_Space}+/u, "").startsWith("{")) return undefined;
  const parts = raw.split(".");
  if (parts.length !== 3) return undefined;
  const payloadBytes = goRawUrlDecode(parts[1] ?? "");
  if (!payloadBytes) return undefined;
  // Invalid UTF-8 becomes U+FFFD byte by byte, as encoding/json reads it.
  const payloadText = goUtf8Decode(payloadBytes);
  // kube-apiserver's json.Unmarshal refuses the whole token past this depth.
  if (exceedsGoNestingDepth(payloadText)) return undefined;
  let payload: unknown;
  try {
    payload = goJsonParse(payloadText);
  } catch {
    return undefined;
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) return undefined;
  const claimed = goStructString(payloadText, "iss");
  if (claimed === undefined) return undefined;
  const issuer = claimed === "accounts.google.com" ? "https://accounts.google.com" : claimed;
  // The claims go-oidc hands on are the payload go-jose verified: the same bytes, as white
  // space cannot be in a segment untrustedIssuer decoded (bar '\r' and '\n', which both skip).
  const { jws, header } = parseSignedCompact(raw, payloadBytes);
  compactOf.set(header, jws);
  return { raw, issuer, issClaim: claimed, header, payload: payload as Record<string, unknown>, payloadText, jws };
}

/** The header field checks of go-jose's rawHeader.sanitized (shared.go); an error or undefined. */
function sanitizeHeader(header: Record<string, unknown>): string | undefined {
  // rawHeader is a map keyed by the exact name; a JSON null is a nil RawMessage, skipped.
  for (const [name, value] of Object.entries(header)) {
    if (value === null) continue;
    switch (name) {
      case "kid":
      case "alg":
      case "nonce":
        if (typeof value !== "string") return `failed to unmarshal ${name} header`;
        break;
      case "jwk": {
        const problem = embeddedJwkProblem(value);
        if (problem) return problem;
        break;
      }
      case "x5c": {
        // json.Unmarshal into []string: an array of strings, a null element left "".
        if (!Array.isArray(value)) return "failed to unmarshal x5c header";
        for (const cert of value) {
          if (cert !== null && typeof cert !== "string") return "failed to unmarshal x5c header";
          if (!goCertificate(cert ?? "")) return "failed to unmarshal x5c header";
        }
        break;
      }
    }
  }
  return undefined;
}

/** x509.ParseCertificate of base64.StdEncoding text: DER, one certificate, nothing after it. */
function goCertificate(text: string): X509Certificate | undefined {
  const der = goStdDecode(text);
  // Node's X509Certificate would take PEM too; Go takes only DER, which starts with SEQUENCE.
  if (der?.at(0) !== 0x30) return undefined;
  try {
    const cert = new X509Certificate(der);
    return cert.raw.length === der.length ? cert : undefined;
  } catch {
    return undefined;
  }
}

const curveSizes: Record<string, number> = { "P-256": 32, "P-384": 48, "P-521": 66 };

/** A certificate thumbprint as JSONWebKey.UnmarshalJSON reads it: raw base64url, or hex of it. */
function thumbprint(value: string, size: number): Buffer | undefined {
  let bytes = goRawUrlDecode(value);
  if (bytes && bytes.length === 2 * size) {
    const hex = bytes.toString("latin1");
    bytes = /^[0-9a-fA-F]*$/.test(hex) ? Buffer.from(hex, "hex") : undefined;
  }
  return bytes && (bytes.length === 0 || bytes.length === size) ? bytes : undefined;
}

/**
 * JSONWebKey.UnmarshalJSON (jwk.go) of an embedded `jwk`, then jws.go sanitized's rule: only a
 * valid public key may be embedded (RFC 7515 4.1.3). go-jose's JSON fork matches the struct's
 * members case-sensitively, so only the exact names count.
 */
function embeddedJwkProblem(value: unknown): string | undefined {
  const bad = "go-jose/go-jose: invalid embedded jwk, must be public key";
  const unparsable = "failed to unmarshal JWK";
  if (typeof value !== "object" || value === null || Array.isArray(value)) return unparsable;
  const jwk = value as Record<string, unknown>;
  const member = (name: string) => (Object.hasOwn(jwk, name) ? (jwk[name] ?? undefined) : undefined);
  for (const name of ["use", "kty", "kid", "crv", "alg", "x5t", "x5t#S256"]) {
    const field = member(name);
    if (field !== undefined && typeof field !== "string") return unparsable;
  }
  // x5u is a *url.URL, a struct: only an object (or null) decodes into it.
  const x5u = member("x5u");
  if (x5u !== undefined && (typeof x5u !== "object" || Array.isArray(x5u))) return unparsable;
  // byteBuffer members: raw base64url strings, "" an empty (but present) buffer.
  const buffers: Record<string, Buffer | undefined> = {};
  for (const name of ["k", "x", "y", "n", "e", "d", "p", "q", "dp", "dq", "qi"]) {
    const field = member(name);
    if (field === undefined) continue;
    if (typeof field !== "string") return unparsable;
    const decoded = field === "" ? Buffer.alloc(0) : goRawUrlDecode(field);
    if (!decoded) return unparsable;
    buffers[name] = decoded;
  }
  const certificates: X509Certificate[] = [];
  const x5c = member("x5c");
  if (x5c !== undefined) {
    if (!Array.isArray(x5c)) return unparsable;
    for (const text of x5c) {
      if (text !== null && typeof text !== "string") return unparsable;
      const cert = goCertificate(text ?? "");
      if (!cert) return unparsable;
      certificates.push(cert);
    }
  }
  const kty = member("kty");
  const crv = member("crv");
  const { x, y, n, e, d } = buffers;
  let key: KeyObject | undefined;
  // A private key (d present) parses, or fails to, and either way is refused after.
  if (kty === "EC") {
    if (d) return bad;
    const size = curveSizes[String(crv)];
    if (!size || !x || !y || x.length !== size || y.length !== size) return unparsable;
    key = importable({ kty, crv: String(crv), x: x.toString("base64url"), y: y.toString("base64url") });
  } else if (kty === "RSA") {
    if (d) return bad;
    if (!n || !e) return unparsable;
    key = importable({ kty, n: n.toString("base64url"), e: e.toString("base64url") });
  } else if (kty === "OKP" && crv === "Ed25519" && x) {
    if (d) return bad;
    if (x.length !== 32) return bad;
    key = importable({ kty, crv, x: x.toString("base64url") });
  } else if (kty === "oct") {
    return certificates.length > 0 ? unparsable : bad;
  } else {
    return unparsable;
  }
  if (!key) return unparsable;
  const leaf = certificates[0];
  if (leaf) {
    const spki = (k: KeyObject) => k.export({ type: "spki", format: "der" });
    if (!spki(leaf.publicKey).equals(spki(key))) return unparsable;
  }
  const sha1 = member("x5t") === undefined ? Buffer.alloc(0) : thumbprint(String(member("x5t")), 20);
  const sha256 = member("x5t#S256") === undefined ? Buffer.alloc(0) : thumbprint(String(member("x5t#S256")), 32);
  if (!sha1 || !sha256) return unparsable;
  if (leaf) {
    if (sha1.length > 0 && !sha1.equals(createHash("sha1").update(leaf.raw).digest())) return unparsable;
    if (sha256.length > 0 && !sha256.equals(createHash("sha256").update(leaf.raw).digest())) return unparsable;
  }
  return undefined;
}

function importable(jwk: JsonWebKey): KeyObject | undefined {
  try {
    return createPublicKey({ key: jwk, format: "jwk" });
  } catch {
    return undefined;
  }
}

const compactOf = new WeakMap<Record<string, unknown>, CompactJws>();

function compactJws(token: ParsedToken): CompactJws {
  if (token.jws) return token.jws;
  const cached = compactOf.get(token.header);
  if (cached) return cached;
  const { jws } = parseSignedCompact(token.raw);
  compactOf.set(token.header, jws);
  return jws;
}

/**
 * go-oidc's jose.ParseSigned: a token go-jose cannot parse (segments, header JSON, the typed
 * header fields of rawHeader.sanitized, an embedded private jwk) is malformed.
 */
export function checkHeaderTypes(header: Record<string, unknown>): void {
  const parsed = compactOf.get(header);
  const error = parsed ? parsed.error : sanitizeHeader(header);
  if (error !== undefined) {
    throw new AuthenticationError("BAD_SIGNATURE", `oidc: malformed jwt: ${error}`);
  }
}

/**
 * DetachedVerify's crit check (signing.go): a JSON array of strings (a null element is ""), each
 * a supported extension, and go-jose supports only b64. Presence is not checked, nor emptiness.
 */
function critSupported(crit: unknown): boolean {
  if (crit === undefined || crit === null) return true;
  return Array.isArray(crit) && crit.every((name) => name === "b64");
}

/** computeAuthData (jws.go): the re-encoded header, and the payload encoded unless b64 is false. */
function signingInput(jws: CompactJws, header: Record<string, unknown>): Buffer {
  // getB64: a b64 that is not a bool is an error, which computeAuthData reads as true.
  const encoded = header.b64 !== false;
  return Buffer.concat([
    Buffer.from(`${jws.protectedSegment}.`),
    encoded ? Buffer.from(jws.payload.toString("base64url")) : jws.payload,
  ]);
}

const hashes: Record<string, string> = { "256": "sha256", "384": "sha384", "512": "sha512" };
const ecKeySizes: Record<string, number> = { ES256: 32, ES384: 48, ES512: 66 };

function derInteger(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  let body = bytes.subarray(start);
  if ((body[0] ?? 0) & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return Buffer.concat([Buffer.from([0x02, body.length]), body]);
}

const rsaKeyUsable = new WeakMap<KeyObject, boolean>();

/**
 * Whether Go's crypto/rsa (Go 1.26, kube-apiserver's toolchain) verifies with this public key at
 * all: rsa.go checkKeySize (rsa1024min: under 1024 bits refused) and
 * crypto/internal/fips140/rsa checkPublicKey (an odd modulus, an odd exponent from 3 to 2^31-1).
 * Worked out once per key.
 */
function goRsaKeyUsable(key: KeyObject): boolean {
  let usable = rsaKeyUsable.get(key);
  if (usable === undefined) {
    const { n, e } = key.export({ format: "jwk" });
    const modulus = BigInt(`0x${Buffer.from(n ?? "", "base64url").toString("hex") || "0"}`);
    const exponent = BigInt(`0x${Buffer.from(e ?? "", "base64url").toString("hex") || "0"}`);
    usable =
      modulus.toString(2).length >= 1024 &&
      modulus % 2n === 1n &&
      exponent >= 3n &&
      exponent % 2n === 1n &&
      exponent <= 2n ** 31n - 1n;
    rsaKeyUsable.set(key, usable);
  }
  return usable;
}

/** asymmetric.go verifyPayload for the key's type; false for a pairing go-jose does not verify. */
function verifyPayload(input: Buffer, signature: Buffer, alg: string, key: KeyObject): boolean {
  const hash = hashes[alg.slice(2)];
  const type = key.asymmetricKeyType;
  if (type === "rsa" && hash && (alg.startsWith("RS") || alg.startsWith("PS"))) {
    // rsa.VerifyPKCS1v15 and rsa.VerifyPSS refuse a signature not exactly the modulus' size.
    const size = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
    if (signature.length !== size || !goRsaKeyUsable(key)) return false;
    return alg.startsWith("RS")
      ? verify(hash, input, { key, padding: cryptoConstants.RSA_PKCS1_PADDING }, signature)
      : // VerifyPSS with nil options: any salt length.
        verify(
          hash,
          input,
          { key, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: cryptoConstants.RSA_PSS_SALTLEN_AUTO },
          signature,
        );
  }
  if (type === "ec") {
    const size = ecKeySizes[alg];
    if (!size || !hash || signature.length !== 2 * size) return false;
    // r and s as big-endian integers of the algorithm's size, whatever the key's curve is.
    const body = Buffer.concat([derInteger(signature.subarray(0, size)), derInteger(signature.subarray(size))]);
    const length = body.length < 0x80 ? Buffer.from([body.length]) : Buffer.from([0x81, body.length]);
    return verify(hash, input, { key, dsaEncoding: "der" }, Buffer.concat([Buffer.from([0x30]), length, body]));
  }
  if (type === "ed25519") return alg === "EdDSA" && verify(null, input, key, signature);
  return false;
}

export async function verifySignature(token: ParsedToken, keys: IssuerKeys, alg: string): Promise<void> {
  const jws = compactJws(token);
  if (jws.error !== undefined) throw new AuthenticationError("BAD_SIGNATURE", `oidc: malformed jwt: ${jws.error}`);
  const kid = typeof token.header.kid === "string" && token.header.kid !== "" ? token.header.kid : undefined;
  // Key-independent, so worked out once: with an unsupported crit every key fails.
  const input = critSupported(token.header.crit) ? signingInput(jws, token.header) : undefined;
  const attempt = () => {
    if (!input) return false;
    for (const { key } of keys.candidates(kid)) {
      try {
        if (verifyPayload(input, jws.signature, alg, key)) return true;
      } catch {
        // try the next key
      }
    }
    return false;
  };
  if (attempt()) return;
  if ((await keys.refresh()) && attempt()) return;
  throw new AuthenticationError(
    "BAD_SIGNATURE",
    "oidc: verify token: failed to verify signature: failed to verify id token signature",
  );
}
