// A throwaway certificate authority for one run of the test bed. Every server in the bed
// (kube-apiserver, the OpenID providers, later the gateway) gets a certificate from it, so
// tests exercise real TLS verification against one CA file instead of turning it off.
import "reflect-metadata"; // @peculiar/x509 resolves its ASN.1 codecs through tsyringe, which needs it
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const keyAlgorithm = { name: "ECDSA", namedCurve: "P-256" } as const;
const signingAlgorithm = { name: "ECDSA", hash: "SHA-256" } as const;

/** A certificate and its private key, both PEM. */
export interface KeyPairPem {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface LeafOptions {
  /** Common name of the subject. */
  readonly commonName: string;
  /** Organisations: kube-apiserver maps O= of a client certificate to groups. */
  readonly organizations?: readonly string[];
  /** DNS names and IP addresses the certificate is valid for (serving certificates). */
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly usage: "server" | "client";
  /** Validity; one day by default, shorter for rotation tests. */
  readonly validForMs?: number;
}

export class TestCA {
  readonly certPem: string;
  readonly #key: CryptoKey;
  readonly #cert: x509.X509Certificate;

  private constructor(cert: x509.X509Certificate, key: CryptoKey) {
    this.#cert = cert;
    this.#key = key;
    this.certPem = cert.toString("pem");
  }

  static async create(name = "kube-oidc-gateway test bed CA"): Promise<TestCA> {
    const keys = (await webcrypto.subtle.generateKey(keyAlgorithm, true, ["sign", "verify"])) as CryptoKeyPair;
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      name: `CN=${name}`,
      keys,
      signingAlgorithm,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 7 * 24 * 3600_000),
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return new TestCA(cert, keys.privateKey);
  }

  /** Issues a leaf certificate signed by this CA. */
  async issue(options: LeafOptions): Promise<KeyPairPem> {
    const keys = (await webcrypto.subtle.generateKey(keyAlgorithm, true, ["sign", "verify"])) as CryptoKeyPair;
    const now = Date.now();
    const names: x509.JsonGeneralName[] = [
      ...(options.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
      ...(options.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
    ];
    const subject = [`CN=${options.commonName}`, ...(options.organizations ?? []).map((o) => `O=${o}`)].join(", ");
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension(
        [options.usage === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
        false,
      ),
      await x509.AuthorityKeyIdentifierExtension.create(this.#cert, false),
    ];
    if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
    const cert = await x509.X509CertificateGenerator.create({
      subject,
      issuer: this.#cert.subject,
      publicKey: keys.publicKey,
      signingKey: this.#key,
      signingAlgorithm,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + (options.validForMs ?? 24 * 3600_000)),
      extensions,
    });
    const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
    return { certPem: cert.toString("pem"), keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") };
  }

  /** A serving certificate for everything a loopback server is reached by. */
  issueLoopbackServer(commonName: string, extraDnsNames: readonly string[] = []): Promise<KeyPairPem> {
    return this.issue({
      commonName,
      usage: "server",
      dnsNames: ["localhost", ...extraDnsNames],
      ipAddresses: ["127.0.0.1", "::1"],
    });
  }
}
