// kube-oidc-proxy's serving flags on the client listener, with real TLS clients (node:tls, Node's
// HTTP/2 client and OpenSSL's s_client): --tls-min-version and --tls-cipher-suites (Go's names),
// --tls-sni-cert-key (two names, explicit and from the certificate), --cert-dir (a self-signed
// pair generated as kube-apiserver does, then reused) and --http2-max-streams-per-connection.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as tls from "node:tls";
import { ConfigError } from "../../src/config/errors.ts";
import {
  certDirPairName,
  certDirServingPair,
  certificateNames,
  openSslCipherList,
  type SniCertKey,
  TlsListener,
  type TlsListenerOptions,
} from "../../src/server/tls-listener.ts";
import { TestCA } from "../../testbed/ca.ts";

type Settings = Pick<
  TlsListenerOptions,
  "tlsMinVersion" | "tlsCipherSuites" | "sniCertKeys" | "http2MaxStreamsPerConnection"
> & { readonly certFile?: string; readonly keyFile?: string };

interface Handshake {
  readonly ok: boolean;
  readonly protocol?: string | null;
  readonly cipher?: string;
  readonly subject?: string;
  readonly error?: string;
}

describe("kube-oidc-proxy's serving flags on the client listener", { timeout: 120_000 }, () => {
  let dir: string;
  let ca: TestCA;
  let certFile: string;
  let keyFile: string;
  const listeners: TlsListener[] = [];

  const writePair = async (name: string, pair: { certPem: string; keyPem: string }) => {
    const cert = join(dir, `${name}.crt`);
    const key = join(dir, `${name}.key`);
    await writeFile(cert, pair.certPem);
    await writeFile(key, pair.keyPem);
    return { cert, key };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "kog-tls-"));
    ca = await TestCA.create();
    const files = await writePair("default", await ca.issueLoopbackServer("default.example"));
    certFile = files.cert;
    keyFile = files.key;
    await writeFile(join(dir, "ca.pem"), ca.certPem);
  });
  after(async () => {
    for (const listener of listeners) {
      listener.stopAccepting();
      listener.closeAll();
    }
    await rm(dir, { recursive: true, force: true });
  });

  async function listen(settings: Settings): Promise<number> {
    const listener = new TlsListener({
      certFile,
      keyFile,
      maxHeaderBytes: 1 << 20,
      onRequest: (_req, res) => {
        res.end("ok");
      },
      onUpgrade: (_req, socket) => socket.destroy(),
      ...settings,
    });
    listeners.push(listener);
    return (await listener.listen(0, "127.0.0.1")).port;
  }

  function handshake(port: number, options: tls.ConnectionOptions): Promise<Handshake> {
    return new Promise((resolve) => {
      const socket = tls.connect({ host: "127.0.0.1", port, ca: ca.certPem, ALPNProtocols: ["http/1.1"], ...options });
      socket.once("secureConnect", () => {
        const peer = socket.getPeerCertificate();
        resolve({
          ok: true,
          protocol: socket.getProtocol(),
          cipher: socket.getCipher().name,
          subject: String(peer.subject?.CN),
        });
        socket.destroy();
      });
      socket.once("error", (error) => resolve({ ok: false, error: error.message }));
    });
  }

  /** OpenSSL's own client, with its own cipher and version flags. */
  function sClient(port: number, args: string[]): Promise<string> {
    return new Promise((resolve) => {
      const child = execFile(
        "openssl",
        ["s_client", "-connect", `127.0.0.1:${port}`, "-brief", ...args],
        { timeout: 10_000 },
        (_error, stdout, stderr) => resolve(`${stdout}${stderr}`),
      );
      child.stdin?.end();
    });
  }

  it("--tls-min-version=VersionTLS13 refuses a TLS 1.2 client and serves a TLS 1.3 one", async () => {
    const port = await listen({ tlsMinVersion: "VersionTLS13" });
    const old = await handshake(port, { maxVersion: "TLSv1.2" });
    assert.equal(old.ok, false);
    const current = await handshake(port, {});
    assert.equal(current.protocol, "TLSv1.3");
    assert.match(await sClient(port, ["-tls1_2"]), /alert protocol version|no protocols available|handshake failure/i);
    assert.match(await sClient(port, ["-tls1_3"]), /Protocol version: TLSv1\.3/);
  });

  it("without --tls-min-version TLS 1.0 is refused (Go's DefaultTLSVersion, 1.2); VersionTLS10 serves a TLS 1.0 client", async () => {
    const defaults = await listen({});
    const refused = await sClient(defaults, ["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"]);
    assert.doesNotMatch(refused, /Protocol version: TLSv1\n/);
    assert.match(refused, /alert protocol version|no protocols available|handshake failure/i);
    const legacy = await listen({ tlsMinVersion: "VersionTLS10" });
    assert.match(await sClient(legacy, ["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"]), /Protocol version: TLSv1\n/);
  });

  it("--tls-cipher-suites offers only the named TLS 1.2 suites, and leaves TLS 1.3's alone as Go does", async () => {
    // The test certificates are ECDSA: the ECDHE_ECDSA suites are the ones that can be chosen.
    const port = await listen({ tlsCipherSuites: ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"] });
    const refused = await handshake(port, { maxVersion: "TLSv1.2", ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256" });
    assert.equal(refused.ok, false);
    const chosen = await handshake(port, { maxVersion: "TLSv1.2" });
    assert.equal(chosen.cipher, "ECDHE-ECDSA-AES256-GCM-SHA384");
    assert.match(
      await sClient(port, ["-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"]),
      /handshake failure|no cipher|alert/i,
    );
    const tls13 = await handshake(port, {});
    assert.equal(tls13.protocol, "TLSv1.3");
  });

  it("refuses a suite name Go does not know with a ConfigError; TLS 1.3 names are accepted and change nothing", () => {
    assert.throws(
      () => openSslCipherList(["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA257"], "TLSv1.2"),
      (error: unknown) => error instanceof ConfigError && error.code === "TLS_CIPHER_SUITE",
    );
    assert.equal(openSslCipherList(["TLS_AES_128_GCM_SHA256"], "TLSv1.2"), undefined);
  });

  it("--tls-sni-cert-key serves each name its certificate: names from the flag, names from the certificate, the default otherwise", async () => {
    const one = await writePair("one", await ca.issueLoopbackServer("one.example", ["*.one.example"]));
    const two = await writePair("two", await ca.issueLoopbackServer("two.example"));
    const sni: SniCertKey[] = [
      { certFile: one.cert, keyFile: one.key, names: [] },
      { certFile: two.cert, keyFile: two.key, names: ["api.two.example", "two.example"] },
    ];
    const port = await listen({ sniCertKeys: sni });
    const subject = async (servername: string) =>
      (await handshake(port, { servername, checkServerIdentity: () => undefined })).subject;
    assert.equal(await subject("one.example"), "one.example");
    assert.equal(await subject("x.one.example"), "one.example"); // the wildcard DNS SAN
    assert.equal(await subject("API.two.example"), "two.example"); // names match without case
    assert.equal(await subject("two.example"), "two.example");
    assert.equal(await subject("other.example"), "default.example");
    assert.match(
      await sClient(port, ["-servername", "api.two.example", "-CAfile", join(dir, "ca.pem")]),
      /two\.example/,
    );
  });

  it("reads a certificate's SNI names as kube-apiserver does: the CN when it is a DNS name, the DNS SANs, never an IP", async () => {
    const pair = await ca.issue({
      commonName: "10.0.0.1",
      dnsNames: ["a.example"],
      ipAddresses: ["127.0.0.1"],
      usage: "server",
    });
    assert.deepEqual(certificateNames(pair.certPem), ["a.example"]);
    const named = await ca.issueLoopbackServer("b.example");
    assert.deepEqual(certificateNames(named.certPem).slice(0, 2), ["b.example", "localhost"]);
  });

  it("--cert-dir: without --tls-cert-file a self-signed pair is generated as kube-apiserver does, served, then reused", async () => {
    const certDir = join(dir, "generated");
    const first = await certDirServingPair(certDir, "127.0.0.1");
    assert.equal(first.generated, true);
    assert.equal(first.certFile, join(certDir, `${certDirPairName}.crt`));
    assert.equal((await stat(first.keyFile)).mode & 0o777, 0o600);
    const pem = await readFile(first.certFile, "utf8");
    // The serving certificate, then the CA that signed it (GenerateSelfSignedCertKeyWithOptions).
    const [leafPem, caPem] = pem.split(/(?<=-----END CERTIFICATE-----\n)/);
    assert.ok(leafPem && caPem);
    const leaf = new X509Certificate(leafPem);
    const issuer = new X509Certificate(caPem);
    assert.ok(leaf.checkIssued(issuer) && leaf.verify(issuer.publicKey));
    assert.match(leaf.subject, /^CN=localhost@\d+$/);
    assert.match(issuer.subject, /^CN=localhost-ca@\d+$/);
    assert.equal(issuer.ca, true);
    assert.equal(leaf.subjectAltName, "DNS:localhost, IP Address:127.0.0.1, IP Address:127.0.0.1");
    // A real client that trusts the generated CA verifies the served certificate for 127.0.0.1.
    const port = await listen({ certFile: first.certFile, keyFile: first.keyFile });
    const served = await handshake(port, { ca: caPem });
    assert.equal(served.ok, true, served.error);
    const again = await certDirServingPair(certDir, "127.0.0.1");
    assert.equal(again.generated, false);
    assert.equal(await readFile(again.certFile, "utf8"), pem);
  });

  it("--cert-dir with only one of the pair's files is refused, as certutil.CanReadCertAndKey refuses it", async () => {
    const certDir = join(dir, "half");
    const { keyFile: key } = await certDirServingPair(certDir, "0.0.0.0");
    await rm(key);
    await assert.rejects(
      certDirServingPair(certDir, "0.0.0.0"),
      (error: unknown) => error instanceof ConfigError && error.code === "CERT_DIR_PAIR",
    );
  });

  it("--http2-max-streams-per-connection is what the listener advertises; 0 keeps kube-apiserver's 100", async () => {
    const advertised = async (port: number) =>
      new Promise<number | undefined>((resolve) => {
        const session = http2.connect(`https://127.0.0.1:${port}`, { ca: ca.certPem });
        session.once("remoteSettings", (settings) => {
          resolve(settings.maxConcurrentStreams);
          session.close();
        });
        session.on("error", () => resolve(undefined));
      });
    assert.equal(await advertised(await listen({ http2MaxStreamsPerConnection: 7 })), 7);
    assert.equal(await advertised(await listen({ http2MaxStreamsPerConnection: 0 })), 100);
  });
});
