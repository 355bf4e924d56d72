// A JSON Web Key Set as kube-apiserver v1.37.2 reads it: go-oidc v2.5.0's remoteKeySet
// (github.com/coreos/go-oidc@v2.5.0+incompatible jwks.go updateKeys, oidc.go unmarshalResp)
// decodes the body with encoding/json into go-jose v2.6.3's JSONWebKeySet, whose
// JSONWebKey.UnmarshalJSON (gopkg.in/go-jose/go-jose.v2@v2.6.3 jwk.go) reads each key with
// go-jose's own JSON fork (json/decode.go: case-sensitive member names, duplicates refused).
// ONE key go-jose cannot read makes the WHOLE set unreadable (the fetch fails and go-oidc keeps
// the keys it had). go-oidc does not look at `use` or `alg`: every key whose kid matches (all of
// them for a token without kid) is tried. Private, symmetric and Ed25519 keys are read but can
// never verify a token kube-apiserver accepts (go-jose signing.go newVerifier has no private
// key case; oct and Ed25519 verifiers refuse the RS/ES/PS algorithms), so they are dropped here.
// The expiry of a fetched set follows github.com/pquerna/cachecontrol@v0.1.0 (cacheobject/
// object.go ExpirationObject, directive.go parse), as go-oidc computes it.
import { createPublicKey, type JsonWebKey, type KeyObject, X509Certificate } from "node:crypto";

export interface SigningKey {
  /** go-jose's KeyID; undefined for "" (such a key is only tried for tokens without kid). */
  readonly kid: string | undefined;
  readonly key: KeyObject;
}

/** Why go-jose (or encoding/json) refuses a key set. */
export class JwksError extends Error {}

// --- JSON with every member kept, in order (JSON.parse keeps only the last of duplicates) ---

type Json =
  | { readonly t: "object"; readonly entries: [string, Json][] }
  | { readonly t: "array"; readonly items: Json[] }
  | { readonly t: "string"; readonly value: string }
  | { readonly t: "number" | "bool" | "null" };

function parseJson(text: string): Json {
  JSON.parse(text); // the syntax errors, as encoding/json's scanner finds them first
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i] as string)) i++;
  };
  const string = (): string => {
    const start = i;
    i++;
    while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): Json => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const entries: [string, Json][] = [];
      ws();
      if (text[i] === "}") {
        i++;
        return { t: "object", entries };
      }
      for (;;) {
        ws();
        const key = string();
        ws();
        i++; // :
        entries.push([key, value()]);
        ws();
        if (text[i++] === "}") return { t: "object", entries };
      }
    }
    if (c === "[") {
      i++;
      const items: Json[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return { t: "array", items };
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[i++] === "]") return { t: "array", items };
      }
    }
    if (c === '"') return { t: "string", value: string() };
    const literal = /^(true|false|null|-?\d+(\.\d+)?([eE][+-]?\d+)?)/.exec(text.slice(i, i + 400))?.[0] ?? "";
    i += literal.length;
    return { t: literal === "null" ? "null" : literal === "true" || literal === "false" ? "bool" : "number" };
  };
  return value();
}

/** encoding/json's field-name folding (ASCII case, plus ſ→s and K→k). */
function foldEquals(key: string, field: string): boolean {
  return key.length === field.length && key.replaceAll("\u017f", "s").replaceAll("\u212a", "k").toLowerCase() === field;
}

// --- go-jose's rawJSONWebKey ---

/** base64.RawURLEncoding.DecodeString: no padding, URL alphabet; CR and LF are skipped. */
function rawUrlBase64(text: string): Buffer | undefined {
  const s = text.replace(/[\r\n]/g, "");
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return undefined;
  return Buffer.from(s, "base64url");
}

/** base64.StdEncoding.DecodeString: padded standard alphabet; CR and LF are skipped. */
function stdBase64(text: string): Buffer | undefined {
  const s = text.replace(/[\r\n]/g, "");
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*(={0,2})$/.test(s)) return undefined;
  return Buffer.from(s, "base64");
}

const stringMembers = ["use", "kty", "kid", "crv", "alg", "x5t", "x5t#S256"] as const;
const bufferMembers = ["k", "x", "y", "n", "e", "d", "p", "q", "dp", "dq", "qi"] as const;
type RawKey = Partial<Record<(typeof stringMembers)[number], string>> &
  Partial<Record<(typeof bufferMembers)[number], Buffer>> & { x5c?: string[] };

function rawJsonWebKey(value: Json): RawKey {
  if (value.t === "null") return {};
  if (value.t !== "object") throw new JwksError("json: cannot unmarshal into rawJSONWebKey");
  const raw: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const [name, member] of value.entries) {
    if (seen.has(name)) throw new JwksError(`json: duplicate key '${name}' in object`);
    seen.add(name);
    if (member.t === "null") continue; // leaves the field unset
    if ((stringMembers as readonly string[]).includes(name)) {
      if (member.t !== "string") throw new JwksError(`json: cannot unmarshal ${member.t} into ${name}`);
      raw[name] = member.value;
    } else if ((bufferMembers as readonly string[]).includes(name)) {
      if (member.t !== "string") throw new JwksError(`json: cannot unmarshal ${member.t} into ${name}`);
      // byteBuffer.UnmarshalJSON (encoding.go): "" is present and empty.
      const bytes = rawUrlBase64(member.value);
      if (!bytes) throw new JwksError(`illegal base64 data in ${name}`);
      raw[name] = bytes;
    } else if (name === "x5c") {
      if (member.t !== "array") throw new JwksError("json: cannot unmarshal x5c");
      raw.x5c = member.items.map((item) => {
        if (item.t === "null") return "";
        if (item.t !== "string") throw new JwksError("json: cannot unmarshal x5c");
        return item.value;
      });
    } else if (name === "x5u") {
      // A *url.URL: encoding/json has no text form for it, so only an object (or null) decodes.
      if (member.t !== "object") throw new JwksError("json: cannot unmarshal x5u into url.URL");
    }
  }
  return raw as RawKey;
}

const curves = { "P-256": 32, "P-384": 48, "P-521": 66 } as const;
const bigint = (bytes: Buffer) => (bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString("hex")}`));

function ecPublic(raw: RawKey): KeyObject {
  const size = curves[raw.crv as keyof typeof curves];
  if (!size) throw new JwksError(`go-jose/go-jose: unsupported elliptic curve '${raw.crv ?? ""}'`);
  if (!raw.x || !raw.y) throw new JwksError("go-jose/go-jose: invalid EC key, missing x/y values");
  if (raw.x.length !== size || raw.y.length !== size) throw new JwksError("go-jose/go-jose: invalid EC key length");
  if (raw.d && raw.d.length !== size)
    throw new JwksError("go-jose/go-jose: invalid EC private key, wrong length for d");
  try {
    // OpenSSL refuses a point off the curve, as go-jose's IsOnCurve check does.
    return createPublicKey({
      key: { kty: "EC", crv: raw.crv, x: raw.x.toString("base64url"), y: raw.y.toString("base64url") },
      format: "jwk",
    });
  } catch {
    throw new JwksError("go-jose/go-jose: invalid EC key, X/Y are not on declared curve");
  }
}

const modPow = (base: bigint, exp: bigint, mod: bigint): bigint => {
  let result = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return result;
};

/** rsa.PrivateKey.Validate (crypto/rsa, Go 1.26): the primes make n and d inverts e. */
function validateRsaPrivate(raw: RawKey): void {
  const missing = ["n", "e", "d", "p", "q"].find((m) => !raw[m as keyof RawKey]);
  if (missing)
    throw new JwksError(`go-jose/go-jose: invalid RSA private key, missing ${missing.toUpperCase()} value(s)`);
  const [n, e, d, p, q] = [raw.n, raw.e, raw.d, raw.p, raw.q].map((b) => bigint(b as Buffer)) as bigint[] as [
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
  ];
  const ok =
    p > 1n &&
    q > 1n &&
    p * q === n &&
    e >= 2n &&
    (e & 1n) === 1n &&
    (d * e) % (p - 1n) === 1n % (p - 1n) &&
    (d * e) % (q - 1n) === 1n % (q - 1n) &&
    modPow(2n, e * d, n) === 2n % n;
  if (!ok) throw new JwksError("crypto/rsa: invalid private key");
}

function sameKey(a: KeyObject, b: KeyObject): boolean {
  const x = a.export({ format: "jwk" });
  const y = b.export({ format: "jwk" });
  return x.kty === y.kty && x.crv === y.crv && x.n === y.n && x.e === y.e && x.x === y.x && x.y === y.y;
}

/**
 * JSONWebKey.UnmarshalJSON: the key's public half when it can verify a kube-apiserver algorithm,
 * null when it is read but never verifies; throws what makes go-jose refuse it.
 */
function jsonWebKey(value: Json): { kid: string; key: KeyObject | null } {
  const raw = rawJsonWebKey(value);
  const certs = (raw.x5c ?? []).map((text) => {
    const der = stdBase64(text);
    try {
      if (!der) throw new Error();
      return new X509Certificate(der);
    } catch {
      throw new JwksError("go-jose/go-jose: failed to unmarshal x5c field");
    }
  });
  let publicKey: KeyObject | undefined; // compared with the certificate
  let verifies = false;
  switch (raw.kty) {
    case "EC":
      publicKey = ecPublic(raw);
      verifies = !raw.d;
      break;
    case "RSA":
      if (raw.d) validateRsaPrivate(raw);
      else if (!raw.n || !raw.e) throw new JwksError("go-jose/go-jose: invalid RSA key, missing n/e values");
      if (raw.d || certs.length > 0) {
        publicKey = rsaKeyObject(raw.n as Buffer, raw.e as Buffer);
      }
      verifies = !raw.d;
      break;
    case "oct":
      if (certs.length > 0)
        throw new JwksError("go-jose/go-jose: invalid JWK, found 'oct' (symmetric) key with cert chain");
      if (!raw.k) throw new JwksError("go-jose/go-jose: invalid OCT (symmetric) key, missing k value");
      break;
    case "OKP":
      if (raw.crv !== "Ed25519" || !raw.x) throw new JwksError(`go-jose/go-jose: unknown curve ${raw.crv ?? ""}'`);
      if (certs.length > 0) {
        const x = Buffer.alloc(32);
        raw.x.copy(x, 0, 0, 32);
        publicKey = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: x.toString("base64url") }, format: "jwk" });
      }
      break;
    default:
      throw new JwksError(`go-jose/go-jose: unknown json web key type '${raw.kty ?? ""}'`);
  }
  if (certs[0] && (!publicKey || !sameKey(certs[0].publicKey, publicKey)) && raw.kty !== "oct") {
    throw new JwksError("go-jose/go-jose: invalid JWK, public keys in key and x5c fields to not match");
  }
  for (const [member, size, hash] of [
    ["x5t", 20, "sha1"],
    ["x5t#S256", 32, "sha256"],
  ] as const) {
    let thumbprint = rawUrlBase64(raw[member] ?? "");
    if (!thumbprint) throw new JwksError(`go-jose/go-jose: invalid JWK, ${member} header has invalid encoding`);
    if (thumbprint.length === 2 * size) {
      const hex = thumbprint.toString("latin1");
      if (!/^([0-9a-fA-F]{2})*$/.test(hex))
        throw new JwksError(`go-jose/go-jose: invalid JWK, unable to hex decode ${member}`);
      thumbprint = Buffer.from(hex, "hex");
    }
    if (thumbprint.length > 0 && thumbprint.length !== size) {
      throw new JwksError(`go-jose/go-jose: invalid JWK, ${member} header is of incorrect size`);
    }
    if (
      thumbprint.length > 0 &&
      certs[0] &&
      !thumbprint.equals(Buffer.from(certs[0][`fingerprint${size === 20 ? "" : "256"}`].replaceAll(":", ""), "hex"))
    ) {
      throw new JwksError(`go-jose/go-jose: invalid JWK, x5c thumbprint does not match ${member} value (${hash})`);
    }
  }
  let key: KeyObject | null = null;
  if (verifies && raw.kty === "EC") key = publicKey ?? null;
  if (verifies && raw.kty === "RSA") key = publicKey ?? rsaKeyObject(raw.n as Buffer, raw.e as Buffer) ?? null;
  return { kid: raw.kid ?? "", key };
}

/**
 * An RSA public key as Go holds it (N, E = int(bigInt.Int64())). Node cannot hold every such key
 * (an even modulus, say); Go refuses to verify with those (crypto/internal/fips140/rsa
 * checkPublicKey), so they become a key that never verifies.
 */
function rsaKeyObject(n: Buffer, e: Buffer): KeyObject | undefined {
  if (n.length === 0 || ((n.at(-1) ?? 0) & 1) === 0) return undefined;
  const jwk: JsonWebKey = { kty: "RSA", n: n.toString("base64url"), e: e.toString("base64url") };
  try {
    return createPublicKey({ key: jwk, format: "jwk" });
  } catch {
    return undefined;
  }
}

/** The keys of a JWKS body that can verify a token; throws JwksError when go-oidc refuses the set. */
export function readJwks(body: string): SigningKey[] {
  let document: Json;
  try {
    document = parseJson(body);
  } catch (error) {
    throw new JwksError(`oidc: failed to decode keys: ${(error as Error).message}`);
  }
  if (document.t === "null") return [];
  if (document.t !== "object")
    throw new JwksError("oidc: failed to decode keys: json: cannot unmarshal into JSONWebKeySet");
  let keys: { kid: string; key: KeyObject | null }[] = [];
  let failure: Error | undefined;
  for (const [name, value] of document.entries) {
    if (name !== "keys" && !foldEquals(name, "keys")) continue;
    if (value.t === "null") keys = [];
    else if (value.t !== "array") failure ??= new JwksError("oidc: failed to decode keys: json: cannot unmarshal keys");
    else {
      try {
        keys = value.items.map(jsonWebKey);
      } catch (error) {
        throw new JwksError(`oidc: failed to decode keys: ${(error as Error).message}`);
      }
    }
  }
  if (failure) throw failure;
  const result: SigningKey[] = [];
  for (const { kid, key } of keys) {
    if (key && verifiable(key)) result.push({ kid: kid === "" ? undefined : kid, key });
  }
  return result;
}

/**
 * Go 1.26's crypto/rsa refuses to verify with a modulus under 1024 bits (checkKeySize, GODEBUG
 * rsa1024min), an even modulus, or an exponent that is even, under 2 or over 2^31-1
 * (crypto/internal/fips140/rsa checkPublicKey): such a key can never verify, so it is dropped.
 */
function verifiable(key: KeyObject): boolean {
  if (key.asymmetricKeyType !== "rsa") return true;
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  const e = key.asymmetricKeyDetails?.publicExponent ?? 0n;
  return bits >= 1024 && e >= 2n && e <= 2n ** 31n - 1n && (e & 1n) === 1n;
}

// --- when go-oidc's fetched set expires ---

/** Cache-Control as github.com/pquerna/cachecontrol@v0.1.0 cacheobject/directive.go parses it. */
function cacheDirectives(value: string): { maxAge: number; sMaxAge: number } | undefined {
  const result = { maxAge: -1, sMaxAge: -1 };
  const delta = (v: string): number | undefined => {
    if (!/^\+?\d+$/.test(v)) return undefined; // strconv.ParseUint
    return Math.min(Number(v), 2 ** 31 - 1);
  };
  const isToken = (c: string) => /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/.test(c);
  let i = 0;
  while (i < value.length) {
    const c = value[i] as string;
    if (c === " " || c === "\t" || c === ",") {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < value.length && isToken(value[j] as string)) j++;
    const token = value.slice(i, j).toLowerCase();
    const hasFields = token === "no-cache" || token === "private";
    if (j + 1 < value.length && value[j] === "=") {
      const k = j + 1;
      let argument: string;
      if (value[k] === '"') {
        const end = value.indexOf('"', k + 1);
        if (end < 0) return undefined;
        argument = value.slice(k + 1, end);
        i = end + 1;
      } else {
        let z = k;
        while (z < value.length && !(value[z] === " " || value[z] === "\t" || (!hasFields && value[z] === ","))) z++;
        argument = value.slice(k, z).replace(/,$/, "");
        i = z;
      }
      if (["must-revalidate", "no-store", "no-transform", "public", "proxy-revalidate", "immutable"].includes(token)) {
        return undefined;
      }
      if (["max-age", "s-maxage", "stale-if-error", "stale-while-revalidate"].includes(token)) {
        const seconds = delta(argument);
        if (seconds === undefined) return undefined;
        if (token === "max-age") result.maxAge = seconds;
        if (token === "s-maxage") result.sMaxAge = seconds;
      }
    } else {
      if (["max-age", "s-maxage", "stale-if-error", "stale-while-revalidate"].includes(token)) return undefined;
      i = j;
    }
  }
  return result;
}

/** net/http ParseTime (RFC 1123, RFC 850, ANSI C); NaN when none matches. */
function httpTime(value: string): number {
  const rfc1123 = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
  const rfc850 = /^[A-Z][a-z]+, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
  const ansiC = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;
  if (!rfc1123.test(value) && !rfc850.test(value) && !ansiC.test(value)) return Number.NaN;
  return Date.parse(ansiC.test(value) ? `${value} GMT` : value);
}

const header = (headers: Record<string, string | string[] | undefined>, name: string): string => {
  const value = headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? "";
};

/**
 * When a fetched set expires, in epoch ms (go-oidc v2.5.0 jwks.go updateKeys: `now` unless
 * cachecontrol.CachableResponse gives a later time; a shared cache, so s-maxage comes first).
 */
export function jwksExpiry(headers: Record<string, string | string[] | undefined>, now: number): number {
  const directives = cacheDirectives(header(headers, "cache-control"));
  if (!directives) return now;
  const dateText = header(headers, "date");
  const date = dateText === "" ? undefined : httpTime(dateText);
  const modifiedText = header(headers, "last-modified");
  const modified = modifiedText === "" ? undefined : httpTime(modifiedText);
  if (Number.isNaN(date) || Number.isNaN(modified)) return now;
  const expiresText = header(headers, "expires");
  const expires = expiresText === "" ? Number.NaN : httpTime(expiresText);
  let expiry = now;
  if (directives.sMaxAge !== -1) expiry = now + directives.sMaxAge * 1000;
  else if (directives.maxAge !== -1) expiry = now + directives.maxAge * 1000;
  else if (!Number.isNaN(expires)) expiry = now + (expires - (date ?? now));
  else if (modified !== undefined) expiry = now + Math.min(0.1 * (now - modified), 24 * 3600_000);
  return Math.max(expiry, now);
}
