// TLS evidence: what a CA bundle holds (count and names, as the incident's "grep -c BEGIN
// CERTIFICATE" did by hand), and whether a given bundle verifies a server's chain, with the
// chain's names when it does not, so the report can say which CA is missing.
import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import * as tls from "node:tls";

export interface CertificateSummary {
  readonly subject: string;
  readonly issuer: string;
  readonly notAfter: string;
  readonly isCa: boolean;
}

/** A subject or issuer DN reduced to its CN (or the whole DN when it has none). */
function commonName(dn: string): string {
  const cn = dn.split("\n").find((line) => line.startsWith("CN="));
  return cn ? cn.slice(3) : dn.replaceAll("\n", ", ");
}

/** The certificates of a PEM bundle; unparsable blocks are counted as such. */
export function certificatesIn(pem: string): { certificates: CertificateSummary[]; unreadable: number } {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const certificates: CertificateSummary[] = [];
  let unreadable = 0;
  for (const block of blocks) {
    try {
      const cert = new X509Certificate(block);
      certificates.push({
        subject: commonName(cert.subject),
        issuer: commonName(cert.issuer),
        notAfter: new Date(cert.validTo).toISOString(),
        isCa: cert.ca,
      });
    } catch {
      unreadable++;
    }
  }
  return { certificates, unreadable };
}

/** "2 certificates: CN=a (CA), CN=b" — for evidence lines. */
export function describeBundle(name: string, pem: string): string {
  const { certificates, unreadable } = certificatesIn(pem);
  const names = certificates.map((c) => `"${c.subject}"${c.isCa ? " (CA)" : ""}`);
  const extra = unreadable ? `, ${unreadable} unreadable` : "";
  return `${name} holds ${certificates.length} certificate${certificates.length === 1 ? "" : "s"}${certificates.length ? `: ${names.join(", ")}` : ""}${extra}`;
}

export interface TlsProbe {
  readonly reachable: boolean;
  /** Why the connection failed (TCP or handshake), when it did. */
  readonly error?: string;
  readonly connectMs?: number;
  /** Whether `ca` verified the chain and the name. */
  readonly verified: boolean;
  readonly verifyError?: string;
  /** The chain the server sent, leaf first, as subject ← issuer names. */
  readonly chain: readonly { subject: string; issuer: string }[];
}

/**
 * Connects to `url`'s host and port and completes a TLS handshake without trusting anything,
 * then verifies the chain against `ca` (system roots when undefined) the way Node's client
 * would, so one connection gives both reachability and the verdict.
 */
export function probeTls(url: URL, ca: string | undefined, timeoutMs: number): Promise<TlsProbe> {
  const port = Number(url.port || 443);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = tls.connect({
      host,
      port,
      servername: isIP(host) === 0 ? host : undefined, // SNI takes host names only (RFC 6066 §3)
      ca,
      rejectUnauthorized: false,
      timeout: timeoutMs,
    });
    const finish = (probe: TlsProbe) => {
      socket.destroy();
      resolve(probe);
    };
    socket.once("secureConnect", () => {
      const chain: { subject: string; issuer: string }[] = [];
      let cert = socket.getPeerCertificate(true);
      const seen = new Set<string>();
      while (cert && Object.keys(cert).length > 0 && !seen.has(cert.fingerprint256)) {
        seen.add(cert.fingerprint256);
        chain.push({ subject: String(cert.subject?.CN ?? "(no CN)"), issuer: String(cert.issuer?.CN ?? "(no CN)") });
        cert = cert.issuerCertificate;
      }
      let verifyError = socket.authorizationError ? String(socket.authorizationError) : undefined;
      if (!verifyError) {
        const identity = tls.checkServerIdentity(host, socket.getPeerCertificate());
        if (identity) verifyError = identity.message;
      }
      finish({
        reachable: true,
        connectMs: Math.round(performance.now() - started),
        verified: verifyError === undefined,
        verifyError,
        chain,
      });
    });
    socket.once("timeout", () =>
      finish({ reachable: false, error: `no TLS handshake within ${timeoutMs} ms`, verified: false, chain: [] }),
    );
    socket.once("error", (error: NodeJS.ErrnoException) =>
      finish({
        reachable: false,
        error: `${error.message}${error.code && !error.message.includes(error.code) ? ` (${error.code})` : ""}`,
        verified: false,
        chain: [],
      }),
    );
  });
}
