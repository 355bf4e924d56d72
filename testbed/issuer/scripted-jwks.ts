// Scripted OIDC issuers on one loopback HTTPS server: each issuer (https://127.0.0.1:<port>/<name>)
// serves a discovery document and a JWKS whose body and response headers a test sets at will,
// byte for byte (unknown key types, private members, malformed JSON, Cache-Control...). Many
// issuers on one server let a differential test give every case an issuer of its own, so that
// kube-apiserver and the gateway each read the case's key set fresh, with no restart.
import "reflect-metadata"; // @peculiar/x509 resolves its ASN.1 codecs through tsyringe, which needs it
import { generateKeyPairSync, type KeyObject, webcrypto } from "node:crypto";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import * as x509 from "@peculiar/x509";
import { TestCA } from "../ca.ts";

export interface ScriptedJwks {
  /** The JWKS body: a string is served verbatim, anything else as JSON. */
  readonly body: unknown;
  /** Extra response headers (e.g. Cache-Control); content-type defaults to application/json. */
  readonly headers?: Record<string, string>;
}

export interface ScriptedIssuers {
  /** PEM of the CA that signed the server's certificate. */
  readonly caPem: string;
  /** The issuer URL of `name` (also what its discovery document names). */
  url(name: string): string;
  /** What `name`'s jwks_uri serves from now on (default: an empty key set). */
  setJwks(name: string, jwks: ScriptedJwks): void;
  /** GET requests of `name`'s JWKS so far. */
  jwksFetches(name: string): number;
  /** GET requests of `name`'s discovery document so far. */
  discoveryFetches(name: string): number;
  close(): Promise<void>;
}

export async function startScriptedIssuers(): Promise<ScriptedIssuers> {
  const ca = await TestCA.create("scripted issuers CA");
  const tls = await ca.issueLoopbackServer("scripted-issuers");
  const sets = new Map<string, ScriptedJwks>();
  const jwksCount = new Map<string, number>();
  const discoveryCount = new Map<string, number>();
  let base = "";
  const bump = (counts: Map<string, number>, name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);

  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const match = /^\/([^/]+)\/(\.well-known\/openid-configuration|jwks)$/.exec(req.url ?? "");
    if (req.method !== "GET" || !match) {
      res.writeHead(404).end();
      return;
    }
    const name = match[1] ?? "";
    if (match[2] === "jwks") {
      bump(jwksCount, name);
      const jwks = sets.get(name) ?? { body: { keys: [] } };
      const body = typeof jwks.body === "string" ? jwks.body : JSON.stringify(jwks.body);
      res.writeHead(200, { "content-type": "application/json", ...jwks.headers }).end(body);
      return;
    }
    bump(discoveryCount, name);
    const issuer = `${base}/${name}`;
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        issuer,
        jwks_uri: `${issuer}/jwks`,
        authorization_endpoint: `${issuer}/auth`,
        response_types_supported: ["id_token"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["RS256", "ES256"],
      }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    caPem: ca.certPem,
    url: (name) => `${base}/${name}`,
    setJwks: (name, jwks) => {
      sets.set(name, jwks);
    },
    jwksFetches: (name) => jwksCount.get(name) ?? 0,
    discoveryFetches: (name) => discoveryCount.get(name) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A key pair for a scripted key set: its JWKs (public and private) and a signer for the raw signer. */
export interface ScriptedKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicJwk: Record<string, unknown>;
  readonly privateJwk: Record<string, unknown>;
}

export type ScriptedKeySpec =
  | { readonly kind: "rsa"; readonly bits?: number }
  | { readonly kind: "ec"; readonly curve: "P-256" | "P-384" | "P-521" }
  | { readonly kind: "ed25519" };

/** A fresh key pair; the JWKs carry `kid` and nothing else beyond the key members. */
export function scriptedKey(kid: string, spec: ScriptedKeySpec = { kind: "rsa" }): ScriptedKey {
  const pair =
    spec.kind === "rsa"
      ? generateKeyPairSync("rsa", { modulusLength: spec.bits ?? 2048 })
      : spec.kind === "ec"
        ? generateKeyPairSync("ec", { namedCurve: spec.curve })
        : generateKeyPairSync("ed25519");
  return {
    kid,
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    publicJwk: { ...pair.publicKey.export({ format: "jwk" }), kid },
    privateJwk: { ...pair.privateKey.export({ format: "jwk" }), kid },
  };
}

/** A self-signed certificate (base64 DER, as a JWK's x5c holds it) for an RSA key pair. */
export async function selfSignedX5c(key: ScriptedKey): Promise<string> {
  const algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;
  const keys = {
    privateKey: await webcrypto.subtle.importKey(
      "pkcs8",
      key.privateKey.export({ format: "der", type: "pkcs8" }),
      algorithm,
      false,
      ["sign"],
    ),
    publicKey: await webcrypto.subtle.importKey(
      "spki",
      key.publicKey.export({ format: "der", type: "spki" }),
      algorithm,
      true,
      ["verify"],
    ),
  };
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${key.kid}`,
    keys,
    signingAlgorithm: algorithm,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 24 * 3600_000),
  });
  return Buffer.from(cert.rawData).toString("base64");
}
