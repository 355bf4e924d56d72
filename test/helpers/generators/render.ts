// Turns a generated TokenCase into the compact JWS sent to kube-apiserver and the gateway: claim
// values rendered against the moment of sending, segments encoded as the case says, signed with
// the bed issuer's real published keys (testbed/issuer/keys.ts). Unlike bed.mint, the header and
// payload are raw bytes, so duplicate keys, exponent-form numbers and invalid UTF-8 survive.
import { createHmac, generateKeyPairSync, type KeyObject } from "node:crypto";
import { type IssuerKeys, keyByKid } from "../../../testbed/issuer/keys.ts";
import { signWithKey } from "../../../testbed/issuer/raw-signer.ts";
import type { ClaimValue, SegmentEncoding, TokenCase } from "./token-case.ts";

export interface RenderContext {
  /** Seconds since the epoch at sending. */
  readonly now: number;
  /** The configuration's issuer URLs; index 0 is the bed's oidc-provider. */
  readonly issuerUrls: readonly string[];
  /** The audience the configuration accepts, and one it does not. */
  readonly audience: string;
  readonly foreignAudience: string;
  readonly keys: IssuerKeys;
}

/** A time written as `1.7e9`-style exponent text with every digit kept. */
function exponentText(t: number): string {
  const digits = String(Math.abs(Math.trunc(t)));
  const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${t < 0 ? "-" : ""}${mantissa}e${digits.length - 1}`;
}

export function claimBytes(value: ClaimValue, context: RenderContext): Buffer {
  switch (value.kind) {
    case "json":
      return Buffer.from(value.text);
    case "issuer": {
      const url = context.issuerUrls[value.index] ?? context.issuerUrls[0] ?? "";
      const altered =
        value.alter === "/"
          ? `${url}/`
          : value.alter === "upper"
            ? url.replace(/^https:\/\//, "HTTPS://")
            : value.alter === "other"
              ? "https://issuer.example.com"
              : url;
      return Buffer.from(JSON.stringify(altered));
    }
    case "audience": {
      const { audience, foreignAudience } = context;
      const forms = {
        string: audience,
        array: [audience],
        "array-with-other": [foreignAudience, audience],
        other: foreignAudience,
        "empty-array": [],
      };
      return Buffer.from(JSON.stringify(forms[value.form]));
    }
    case "time": {
      const t = context.now + value.offset;
      const text = {
        int: `${t}`,
        float: `${t}.25`,
        exponent: exponentText(t),
        "fraction-zero": `${t}.0`,
        string: `"${t}"`,
      }[value.form];
      return Buffer.from(text);
    }
    case "bytes":
      return Buffer.concat([Buffer.from(`"${value.before}`), Buffer.from(value.bytes), Buffer.from(`${value.after}"`)]);
  }
}

function objectBytes(members: readonly (readonly [string, Buffer])[]): Buffer {
  const parts: Buffer[] = [Buffer.from("{")];
  members.forEach(([name, value], i) => {
    if (i > 0) parts.push(Buffer.from(","));
    parts.push(Buffer.from(`${JSON.stringify(name)}:`), value);
  });
  parts.push(Buffer.from("}"));
  return Buffer.concat(parts);
}

export function encodeSegment(bytes: Buffer, encoding: SegmentEncoding): string {
  const plain = bytes.toString("base64url");
  const middle = Math.floor(plain.length / 2);
  switch (encoding) {
    case "base64url":
      return plain;
    case "padded":
      return `${plain}${"=".repeat((4 - (plain.length % 4)) % 4 || 1)}`;
    case "standard-alphabet":
      return bytes.toString("base64").replace(/=+$/, "");
    case "space-inside":
      return `${plain.slice(0, middle)} ${plain.slice(middle)}`;
    case "tab-inside":
      return `${plain.slice(0, middle)}\t${plain.slice(middle)}`;
  }
}

const strangers = new Map<string, KeyObject>();
/** A private key of the same type as `kid`'s that the issuer never published. */
function strangerKey(kid: string, keys: IssuerKeys): KeyObject {
  if (kid === "rsa-1") return keyByKid(keys, "rogue-rsa").privateKey;
  if (kid === "ec-p256") return keyByKid(keys, "rogue-ec").privateKey;
  let key = strangers.get(kid);
  if (!key) {
    key =
      kid === "ed25519"
        ? generateKeyPairSync("ed25519").privateKey
        : generateKeyPairSync("ec", { namedCurve: kid === "ec-p384" ? "P-384" : "P-521" }).privateKey;
    strangers.set(kid, key);
  }
  return key;
}

function signBytes(alg: string, key: KeyObject, data: Buffer): Buffer {
  if (alg.startsWith("HS")) return createHmac(hashOf(alg), "secret").update(data).digest();
  return signWithKey(alg, key, data);
}

const hashOf = (alg: string) => (alg.endsWith("384") ? "sha384" : alg.endsWith("512") ? "sha512" : "sha256");

/** The header's bytes, with `"$jwk:public"`/`"$jwk:private"` replaced by the signing key's JWK. */
function headerBytes(testCase: TokenCase, keys: IssuerKeys): Buffer {
  const key = keyByKid(keys, testCase.signature.kid);
  return objectBytes(
    testCase.header.map(([name, text]) => {
      const jwk = text === '"$jwk:public"' ? key.publicJwk : text === '"$jwk:private"' ? key.privateJwk : undefined;
      return [name, Buffer.from(jwk ? JSON.stringify(jwk) : text)] as const;
    }),
  );
}

export function payloadBytes(testCase: TokenCase, context: RenderContext): Buffer {
  return objectBytes(testCase.payload.map(([name, value]) => [name, claimBytes(value, context)] as const));
}

/** The compact JWS for `testCase` at `context.now`. */
export function renderToken(testCase: TokenCase, context: RenderContext): string {
  const { mode, kid, alg } = testCase.signature;
  const header = encodeSegment(headerBytes(testCase, context.keys), testCase.encoding.header);
  const payload = payloadBytes(testCase, context);
  const payloadSegment =
    mode === "unencoded-payload" ? payload.toString("latin1") : encodeSegment(payload, testCase.encoding.payload);
  // go-jose v2.6.3 (jws.go parseCompact) strips white space before splitting, so the signed
  // input is the segments without it; other encodings are signed as sent.
  const signingInput = Buffer.from(`${header}.${payloadSegment}`.replace(/[ \t]/g, ""), "latin1");
  const key = mode === "wrong-key" ? strangerKey(kid, context.keys) : keyByKid(context.keys, kid).privateKey;
  let signature = signBytes(alg, key, signingInput);
  if (mode === "corrupted") signature = Buffer.from(signature.map((byte, i) => (i === 0 ? byte ^ 0x01 : byte)));
  if (mode === "truncated") signature = signature.subarray(0, signature.length - 4);
  if (mode === "empty") signature = Buffer.alloc(0);
  return `${header}.${payloadSegment}.${signature.toString("base64url")}`;
}

/** Whether `token` can go in an Authorization header at all (Node refuses other bytes). */
export function sendable(token: string): boolean {
  return /^[\t\x20-\x7e\x80-\xff]*$/.test(token);
}
