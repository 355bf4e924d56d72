// The client-facing listener: TLS with ALPN, HTTP/2 for clients that offer it and HTTP/1.1
// (with Upgrade) for the rest, on one port. The certificate and key are re-read when their
// files change, as cert-manager rotates them, without dropping connections.
import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from "node:crypto";
import { constants } from "node:fs";
import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import * as http from "node:http";
import * as http2 from "node:http2";
import { type AddressInfo, isIP, type Socket } from "node:net";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import { ConfigError, unreadableFile } from "../config/errors.ts";
import { goCipherSuites, goSuitesNodeLacks, goTls13Suites } from "../config/go-tls-names.ts";
import { rawHttpResponse, StatusError, toStatus } from "../proxy/status.ts";
import { isStreamUpgrade } from "../proxy/upgrade-relay.ts";

// Slow or silent clients (slowloris) must not hold connections for long. The bounds follow
// kube-apiserver's secure serving (k8s.io/apiserver pkg/server/secure_serving.go): its
// ReadHeaderTimeout of 32 s bounds both the TLS handshake and the request headers. Node's
// defaults were 120 s for the handshake and 60 s for the headers, the latter checked only every
// 30 s. Fixed values rather than flags: no client needs longer, and watches, exec and long
// request bodies are not affected (the header bound ends when the headers are complete).
/** Time a new connection has to complete its TLS handshake. */
export const handshakeTimeoutMs = 10_000;
/** Time a request has to send its complete header block, from its first byte. */
export const headersTimeoutMs = 32_000;
/**
 * An HTTP/2 connection with no open stream is closed (GOAWAY) after this long, as Go's
 * http.Server does with kube-apiserver's IdleTimeout; one that never opens a stream at all gets
 * only `headersTimeoutMs`. Node has no such bound: a silent HTTP/2 client held its socket forever.
 * (Node's own session timeout counts any traffic, not open streams, so it would end quiet watches.)
 */
export const http2IdleTimeoutMs = 90_000;
/** How often Node checks the header and request bounds of open HTTP/1.1 connections. */
const connectionsCheckingIntervalMs = 1_000;

/**
 * HTTP/2 streams a client may have open at once on one connection: kube-apiserver's default,
 * 100 when --http2-max-streams-per-connection is 0 (k8s.io/apiserver@v0.37.2
 * pkg/server/secure_serving.go, "match http2.initialMaxConcurrentStreams used by clients"). Node
 * advertised no limit at all. A client that wants more opens another connection, as client-go does.
 */
export const http2MaxConcurrentStreams = 100;
/**
 * Header fields one request may carry: node:http's server keeps at most 2,000 (its
 * maxHeadersCount default) on HTTP/1.1; HTTP/2 counts its four pseudo-headers too. Node's HTTP/2
 * default was 128: a request with 200 headers of 600 bytes (an id token's groups, a proxy's
 * additions) was reset with ENHANCE_YOUR_CALM instead of answered.
 */
export const maxHeaderFields = 2_000;
const http2PseudoHeaders = 4;
/**
 * HTTP/2 header blocks up to this many times --max-header-bytes are received and answered 431
 * (the request is refused, but the client learns why); a larger block is reset by Node while it
 * decodes it (ENHANCE_YOUR_CALM), as is one with more than `maxHeaderFields` fields. nghttp2 also
 * has a fixed limit of 64 KiB for one header field (name and value, NGHTTP2_HD_MAX_NV): a larger
 * single field is a compression error that ends the whole connection (GOAWAY), whatever
 * --max-header-bytes says.
 */
const http2HeaderBlockSlack = 2;
/**
 * Largest HTTP/2 frame a client may send: kube-apiserver's MaxReadFrameSize of 256 KiB
 * (k8s.io/apiserver@v0.37.2 pkg/server/secure_serving.go, resourceBody99Percentile). With the
 * protocol's default of 16 KiB, a header block over about 144 KiB needed more than the 8
 * CONTINUATION frames nghttp2 accepts (its max_continuations, since CVE-2024-27983) and the
 * whole connection was closed (GOAWAY INTERNAL_ERROR) before --max-header-bytes was reached.
 * Clients built on nghttp2 (node:http2, curl) split header blocks into 16 KiB frames whatever
 * this says, so for them that limit of about 144 KiB stands; Go's client (kubectl, client-go)
 * uses the frame size the server allows.
 */
export const http2MaxFrameSize = 256 * 1024;

/**
 * --tls-min-version's Go names (k8s.io/component-base cli/flag ciphersuites_flag.go `versions`)
 * as Node's minVersion. Empty means Go's DefaultTLSVersion there, TLS 1.2, which is Node's default.
 */
const tlsVersions: Readonly<Record<string, tls.SecureVersion>> = {
  VersionTLS10: "TLSv1",
  VersionTLS11: "TLSv1.1",
  VersionTLS12: "TLSv1.2",
  VersionTLS13: "TLSv1.3",
};

/** Node's minVersion for a --tls-min-version value; a ConfigError for a name Go does not know. */
export function nodeMinVersion(goName: string | undefined): tls.SecureVersion {
  if (goName === undefined || goName === "") return "TLSv1.2";
  const version = tlsVersions[goName];
  if (!version) {
    throw new ConfigError(
      "TLS_MIN_VERSION",
      `unknown tls version ${JSON.stringify(goName)}: one of ${Object.keys(tlsVersions).join(", ")}`,
    );
  }
  return version;
}

/**
 * The OpenSSL cipher list for --tls-cipher-suites and --tls-min-version, or undefined for Node's
 * default. Below TLS 1.2 the list also lowers OpenSSL's security level to 0, without which
 * OpenSSL 3 refuses TLS 1.0 and 1.1 handshakes whatever minVersion says (Go serves them when
 * asked to).
 */
export function openSslCipherList(goNames: readonly string[], minVersion: tls.SecureVersion): string | undefined {
  const chosen: string[] = [];
  for (const name of goNames) {
    const openSsl = goSuitesNodeLacks.has(name) ? undefined : goCipherSuites[name];
    if (openSsl === undefined && !goTls13Suites.has(name)) {
      throw new ConfigError("TLS_CIPHER_SUITE", `Cipher suite ${name} not supported or doesn't exist`);
    }
    if (openSsl !== undefined && !chosen.includes(openSsl)) chosen.push(openSsl);
  }
  const legacy = minVersion === "TLSv1" || minVersion === "TLSv1.1";
  if (chosen.length === 0 && !legacy) return undefined;
  // TLS 1.3's suites stay as OpenSSL has them (Node takes them from the same list).
  const list =
    chosen.length > 0
      ? [...tls.DEFAULT_CIPHERS.split(":").filter((c) => c.startsWith("TLS_")), ...chosen]
      : [tls.DEFAULT_CIPHERS];
  return legacy ? `${list.join(":")}:@SECLEVEL=0` : list.join(":");
}

/** One --tls-sni-cert-key: a certificate and key, and the names it serves (empty: the certificate's). */
export interface SniCertKey {
  readonly certFile: string;
  readonly keyFile: string;
  readonly names: readonly string[];
}

// k8s.io/apimachinery validation.IsDNS1123Subdomain.
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * The names a certificate serves when its --tls-sni-cert-key names none, as kube-apiserver takes
 * them (k8s.io/apiserver@v0.37.2 pkg/server/dynamiccertificates/named_certificates.go
 * getCertificateNames): the subject's CN when it is a DNS-1123 subdomain (or `*`, or `*.` one)
 * and not an IP address, then every DNS SAN. IP SANs never: SNI cannot carry an IP.
 */
export function certificateNames(certPem: string): string[] {
  const cert = new X509Certificate(certPem);
  const names: string[] = [];
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? "";
  const trimmed = cn.startsWith("*.") ? cn.slice(2) : cn;
  if (isIP(cn) === 0 && (cn === "*" || (trimmed.length <= 253 && dns1123Subdomain.test(trimmed)))) names.push(cn);
  for (const entry of (cert.subjectAltName ?? "").split(", ")) {
    if (entry.startsWith("DNS:")) names.push(entry.slice(4));
  }
  return names;
}

/**
 * Go's tls.Config.getCertificate by name (crypto/tls common.go): the lower-cased name exactly,
 * then with its first label replaced by `*`.
 */
function lookupSni<T>(byName: ReadonlyMap<string, T>, serverName: string): T | undefined {
  const name = serverName.toLowerCase();
  const exact = byName.get(name);
  if (exact !== undefined) return exact;
  const labels = name.split(".");
  if (labels.length < 2) return undefined;
  labels[0] = "*";
  return byName.get(labels.join("."));
}

/**
 * Reads a certificate and its key for serving, and checks them as a pair before OpenSSL sees
 * them: a missing or unreadable file names the setting that gave it
 * (`--tls-cert-file: /tls/tls.crt: no such file`), and a key that does not belong to the
 * certificate is said in words, not as OpenSSL's `error:05800074:x509 certificate
 * routines::key values mismatch`. ConfigErrors: the start-up stops before anything listens; on
 * a reload the previous pair is kept and the message logged.
 */
export async function readServingPair(
  certificate: { readonly flag: string; readonly file: string },
  privateKey: { readonly flag: string; readonly file: string },
): Promise<{ cert: string; key: string }> {
  const read = (what: { readonly flag: string; readonly file: string }) =>
    readFile(what.file, "utf8").catch((error: unknown) => {
      throw unreadableFile("TLS_FILE_UNREADABLE", what.flag, what.file, error);
    });
  const [cert, key] = await Promise.all([read(certificate), read(privateKey)]);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (error) {
    throw new ConfigError(
      "TLS_CERTIFICATE_INVALID",
      `${certificate.flag}: ${certificate.file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)${cert.includes("PRIVATE KEY-----") ? "; it holds a private key: are the certificate and key files swapped?" : ""}`,
      { cause: error },
    );
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(key);
  } catch (error) {
    throw new ConfigError(
      "TLS_KEY_INVALID",
      `${privateKey.flag}: ${privateKey.file} holds no unencrypted PEM private key (-----BEGIN PRIVATE KEY-----, RSA or EC)`,
      { cause: error },
    );
  }
  if (!x509.checkPrivateKey(keyObject)) {
    const pair =
      certificate.flag === privateKey.flag
        ? `${certificate.flag}: the private key in ${privateKey.file} does not belong to the certificate in ${certificate.file}`
        : `the private key in ${privateKey.file} (${privateKey.flag}) does not belong to the certificate in ${certificate.file} (${certificate.flag})`;
    throw new ConfigError(
      "TLS_KEY_MISMATCH",
      `${pair}: give the key the certificate was issued for (a kubernetes.io/tls Secret's tls.key with its tls.crt)`,
    );
  }
  return { cert, key };
}

export interface TlsListenerOptions {
  readonly certFile: string;
  readonly keyFile: string;
  /** The setting errors about certFile and keyFile name; --tls-cert-file and --tls-private-key-file unless given (--cert-dir). */
  readonly certFlag?: string;
  readonly keyFlag?: string;
  /** --tls-min-version, Go's name; TLS 1.2 when unset. */
  readonly tlsMinVersion?: string;
  /** --tls-cipher-suites, Go's names; OpenSSL's defaults when empty. */
  readonly tlsCipherSuites?: readonly string[];
  /** --tls-sni-cert-key: certificates chosen by the name the client asks for (SNI). */
  readonly sniCertKeys?: readonly SniCertKey[];
  /** --http2-max-streams-per-connection; 0 or unset: `http2MaxConcurrentStreams`. */
  readonly http2MaxStreamsPerConnection?: number;
  readonly onRequest: (
    req: http.IncomingMessage | http2.Http2ServerRequest,
    res: http.ServerResponse | http2.Http2ServerResponse,
  ) => void;
  readonly onUpgrade: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
  readonly onReload?: (ok: boolean, error?: Error) => void;
  /** Largest request header block accepted; larger ones get 431. */
  readonly maxHeaderBytes: number;
  /** A request the listener answered itself (a refused request target or method), for the metrics. */
  readonly onRefused?: (method: string, status: number) => void;
  /** How often the certificate files are checked for changes. */
  readonly reloadIntervalMs?: number;
  /** The slow-client bounds; the exported defaults unless a test shortens them. */
  readonly timeouts?: { readonly handshakeMs?: number; readonly headersMs?: number; readonly http2IdleMs?: number };
}

const targetRefusal = () =>
  new StatusError(
    "REQUEST_TARGET",
    400,
    "BadRequest",
    "the request target must be a path that starts with / (origin-form)",
  );

/**
 * Why a request is answered here, before authentication and before anything is forwarded: a
 * request target that is not a path. kube-apiserver serves paths only; the absolute form
 * (`GET https://host/api/...`), `*` and the authority form are what proxies and servers-wide
 * OPTIONS use, and passing them on would make the path the gateway checks and the one the API
 * server routes differ.
 *
 * Methods kube-apiserver does not serve (FOO, PROPFIND, any token HTTP/2 accepts) are NOT
 * refused here: on the test bed's kube-apiserver v1.37.2 they get, over HTTP/1.1 and HTTP/2
 * alike, 401 without a valid token, 403 when RBAC does not grant the verb (the lowercased
 * method: k8s.io/apiserver@v0.37.2 pkg/endpoints/request/requestinfo.go), and only then 405
 * MethodNotAllowed (authentication and authorization come first in DefaultBuildHandlerChain,
 * pkg/server/config.go). An early 405 would tell a client without a token what kube-apiserver
 * answers 401, and the gateway's 401 for a missing token costs no verification anyway; what
 * they cost was metric series, now bounded in src/observability/metrics.ts.
 */
function requestRefusal(_method: string | undefined, url: string | undefined): StatusError | undefined {
  if (!url?.startsWith("/")) return targetRefusal();
  return undefined;
}

/**
 * An HTTP/2 request whose header block exceeds --max-header-bytes: 431, as HTTP/1.1's parser
 * answers. Sized as HTTP/2 sizes a header list (RFC 9113 §6.5.2: name, value and 32 bytes per
 * field), which is what SETTINGS_MAX_HEADER_LIST_SIZE and Node's own limit count.
 */
function http2HeadersRefusal(rawHeaders: readonly string[], maxHeaderBytes: number): StatusError | undefined {
  let size = 0;
  for (let i = 0; i < rawHeaders.length; i++) size += (rawHeaders[i]?.length ?? 0) + (i % 2 === 0 ? 32 : 0);
  if (size <= maxHeaderBytes) return undefined;
  return new StatusError("HEADERS_TOO_LARGE", 431, "BadRequest", "request header fields too large");
}

export class TlsListener {
  readonly #options: TlsListenerOptions;
  readonly #http1: http.Server;
  readonly #http2: http2.Http2Server;
  #tls: tls.Server | undefined;
  #fingerprint = "";
  readonly #minVersion: tls.SecureVersion;
  readonly #ciphers: string | undefined;
  /** The --tls-sni-cert-key contexts by name, and the fingerprint of their files. */
  #sni: { readonly byName: ReadonlyMap<string, tls.SecureContext>; readonly fingerprint: string } = {
    byName: new Map(),
    fingerprint: "",
  };
  #timer: NodeJS.Timeout | undefined;
  readonly #sessions = new Set<http2.Http2Session>();
  /** Every TCP connection, so closeAll also ends those still in their TLS handshake. */
  readonly #sockets = new Set<Socket>();

  constructor(options: TlsListenerOptions) {
    this.#options = options;
    this.#minVersion = nodeMinVersion(options.tlsMinVersion);
    this.#ciphers = openSslCipherList(options.tlsCipherSuites ?? [], this.#minVersion);
    const refuse = (method: string, error: StatusError) => {
      options.onRefused?.(method, error.httpStatus);
      return toStatus(error);
    };
    const onRequest: TlsListenerOptions["onRequest"] = (req, res) => {
      const refusal =
        requestRefusal(req.method, req.url) ??
        ("stream" in req ? http2HeadersRefusal(req.rawHeaders, options.maxHeaderBytes) : undefined);
      if (!refusal) return options.onRequest(req, res);
      const response = refuse(req.method ?? "", refusal);
      req.resume();
      (res as http.ServerResponse).writeHead(response.status, response.headers);
      res.end(response.body);
    };
    this.#http1 = http.createServer(
      {
        noDelay: true,
        maxHeaderSize: options.maxHeaderBytes,
        headersTimeout: options.timeouts?.headersMs ?? headersTimeoutMs,
        connectionsCheckingInterval: connectionsCheckingIntervalMs,
        // Only WebSocket and SPDY are upgrades (isStreamUpgrade); a request with any other
        // Upgrade (h2c, made-up protocols) is an ordinary request, served with backpressure like
        // any other, as Go's server serves it to kube-apiserver. (Node ≥ 22.21 and 24.9 read this
        // option; on older ones such requests reach onUpgrade, which refuses them.)
        shouldUpgradeCallback: (req: http.IncomingMessage) => isStreamUpgrade(req.headers),
      },
      onRequest,
    );
    this.#http1.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      const refusal = requestRefusal(req.method, req.url);
      if (!refusal) return options.onUpgrade(req, socket, head);
      socket.on("error", () => socket.destroy());
      socket.end(rawHttpResponse(refuse(req.method ?? "", refusal)));
    });
    // CONNECT's authority-form target (`CONNECT host:443`): Node hands it to "connect" listeners
    // only, and without one closed the connection without an answer.
    this.#http1.on("connect", (req: http.IncomingMessage, socket: Duplex) => {
      socket.on("error", () => socket.destroy());
      socket.end(rawHttpResponse(refuse(req.method ?? "CONNECT", targetRefusal())));
    });
    // This server never listens itself (the TLS server hands it connections), and Node starts
    // tracking connections (headersTimeout, requestTimeout, closeIdleConnections) on
    // "listening": without this, slow headers were never timed out and closeIdle did nothing.
    this.#http1.emit("listening");
    // Requests Node cannot parse (oversized or malformed headers, smuggling attempts) still get
    // a Status body, not Node's bare default.
    this.#http1.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
      if (!socket.writable) return socket.destroy();
      if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") {
        // Headers (or the request) not received in time: 408 as Node itself answers, not 400.
        return void socket.end(
          rawHttpResponse(
            toStatus(
              new StatusError("REQUEST_TIMEOUT", 408, "Timeout", "the request headers were not received in time"),
            ),
          ),
        );
      }
      const tooLarge = error.code === "HPE_HEADER_OVERFLOW";
      socket.end(
        rawHttpResponse(
          toStatus(
            new StatusError(
              tooLarge ? "HEADERS_TOO_LARGE" : "MALFORMED_REQUEST",
              tooLarge ? 431 : 400,
              "BadRequest",
              tooLarge ? "request header fields too large" : "malformed HTTP request",
            ),
          ),
        ),
      );
    });
    this.#http2 = http2.createServer(
      {
        maxSendHeaderBlockLength: options.maxHeaderBytes,
        maxHeaderListPairs: maxHeaderFields + http2PseudoHeaders,
        settings: {
          maxHeaderListSize: options.maxHeaderBytes * http2HeaderBlockSlack,
          maxConcurrentStreams: options.http2MaxStreamsPerConnection || http2MaxConcurrentStreams,
          maxFrameSize: http2MaxFrameSize,
        },
      },
      onRequest,
    );
    // HTTP/2 CONNECT carries no :path, only an :authority; Node answered a bare 405 without a
    // listener. (Other :path values that do not start with "/" (or are not "*") never reach
    // us: nghttp2 resets such a stream with PROTOCOL_ERROR, RFC 9113 §8.3.1.)
    this.#http2.on("connect", (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
      const response = refuse(req.method, targetRefusal());
      req.resume();
      res.writeHead(response.status, response.headers);
      res.end(response.body);
    });
    this.#http2.on("session", (session) => {
      this.#sessions.add(session);
      let open = 0;
      let timer: NodeJS.Timeout | undefined;
      const closeWhenIdleFor = (ms: number) => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          session.close();
          // A client that never sent its preface does not take part in a graceful close.
          setTimeout(() => session.destroy(), 1_000).unref();
        }, ms);
        timer.unref();
      };
      closeWhenIdleFor(options.timeouts?.headersMs ?? headersTimeoutMs);
      session.on("stream", (stream: http2.ServerHttp2Stream) => {
        open++;
        clearTimeout(timer);
        stream.once("close", () => {
          if (--open === 0 && !session.closed && !session.destroyed)
            closeWhenIdleFor(options.timeouts?.http2IdleMs ?? http2IdleTimeoutMs);
        });
      });
      session.once("close", () => {
        clearTimeout(timer);
        this.#sessions.delete(session);
      });
    });
  }

  async #readPair(): Promise<{ cert: string; key: string; fingerprint: string }> {
    const { cert, key } = await readServingPair(
      { flag: this.#options.certFlag ?? "--tls-cert-file", file: this.#options.certFile },
      { flag: this.#options.keyFlag ?? "--tls-private-key-file", file: this.#options.keyFile },
    );
    return { cert, key, fingerprint: createHash("sha256").update(cert).update(key).digest("hex") };
  }

  /** The settings every context shares: --tls-min-version and --tls-cipher-suites. */
  #contextOptions(cert: string, key: string): tls.SecureContextOptions {
    return { cert, key, minVersion: this.#minVersion, ...(this.#ciphers ? { ciphers: this.#ciphers } : {}) };
  }

  /**
   * The --tls-sni-cert-key certificates by name, as kube-apiserver builds them
   * (dynamiccertificates/named_certificates.go BuildNamedCertificates): an earlier flag wins a
   * name over a later one, and names given in a flag win over names read from a certificate.
   */
  async #readSni(): Promise<{ byName: Map<string, tls.SecureContext>; fingerprint: string }> {
    const entries = this.#options.sniCertKeys ?? [];
    const pairs = await Promise.all(
      entries.map(async (entry) => {
        const { cert, key } = await readServingPair(
          { flag: "--tls-sni-cert-key", file: entry.certFile },
          { flag: "--tls-sni-cert-key", file: entry.keyFile },
        );
        return { entry, cert, key };
      }),
    );
    const hash = createHash("sha256");
    for (const { cert, key } of pairs) hash.update(cert).update(key);
    const fingerprint = hash.digest("hex");
    if (fingerprint === this.#sni.fingerprint) return { byName: new Map(this.#sni.byName), fingerprint };
    const fromCertificate = new Map<string, tls.SecureContext>();
    const explicit = new Map<string, tls.SecureContext>();
    for (const { entry, cert, key } of pairs.reverse()) {
      const context = tls.createSecureContext(this.#contextOptions(cert, key));
      for (const name of entry.names) explicit.set(name, context);
      if (entry.names.length === 0) for (const name of certificateNames(cert)) fromCertificate.set(name, context);
    }
    const byName = new Map([...fromCertificate, ...explicit]);
    return { byName, fingerprint };
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    const { cert, key, fingerprint } = await this.#readPair();
    this.#fingerprint = fingerprint;
    this.#sni = await this.#readSni();
    const sni = (this.#options.sniCertKeys ?? []).length > 0;
    this.#tls = tls.createServer(
      {
        ...this.#contextOptions(cert, key),
        ...(sni
          ? {
              // The certificate for the name the client asked for, else the default one (Go's
              // getCertificate falls back to Certificates[0] the same way).
              SNICallback: (serverName: string, callback: (error: Error | null, context?: tls.SecureContext) => void) =>
                callback(null, lookupSni(this.#sni.byName, serverName)),
            }
          : {}),
        ALPNProtocols: ["h2", "http/1.1"],
        handshakeTimeout: this.#options.timeouts?.handshakeMs ?? handshakeTimeoutMs,
      },
      (socket) => {
        socket.setNoDelay(true);
        if (socket.alpnProtocol === "h2") this.#http2.emit("connection", socket);
        else this.#http1.emit("connection", socket);
      },
    );
    // With a listener here Node leaves the failed socket to it: without the destroy, a handshake
    // that timed out or failed kept its connection open for good.
    this.#tls.on("tlsClientError", (_error, socket) => socket.destroy());
    this.#tls.on("connection", (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once("close", () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      this.#tls?.once("error", reject);
      this.#tls?.listen(port, host, () => resolve());
    });
    this.#timer = setInterval(() => void this.#reload(), this.#options.reloadIntervalMs ?? 2000);
    this.#timer.unref();
    return this.#tls.address() as AddressInfo;
  }

  async #reload(): Promise<void> {
    try {
      if ((this.#options.sniCertKeys ?? []).length > 0) {
        const sni = await this.#readSni();
        if (sni.fingerprint !== this.#sni.fingerprint) {
          this.#sni = sni;
          this.#options.onReload?.(true);
        }
      }
      const pair = await this.#readPair();
      if (pair.fingerprint === this.#fingerprint) return;
      // createSecureContext validates the pair; a half-written file fails here and is retried.
      const options = this.#contextOptions(pair.cert, pair.key);
      tls.createSecureContext(options);
      this.#tls?.setSecureContext(options);
      this.#fingerprint = pair.fingerprint;
      this.#options.onReload?.(true);
    } catch (error) {
      this.#options.onReload?.(false, error as Error);
    }
  }

  /**
   * Stops accepting connections; open ones continue until `closeIdle`/`closeAll`. (The close
   * callback of a server only fires once every connection has ended, so it is not awaited.)
   */
  stopAccepting(): void {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#tls?.listening) this.#tls.close();
  }

  /** Closes keep-alive connections with no request in flight; HTTP/2 sessions get GOAWAY. */
  closeIdle(): void {
    this.#http1.closeIdleConnections();
    for (const session of this.#sessions) session.close();
  }

  closeAll(): void {
    this.#http1.closeAllConnections();
    this.#http1.close(); // ends the connection checks that "listening" started
    for (const session of this.#sessions) session.destroy();
    for (const socket of this.#sockets) socket.destroy();
  }
}

// --cert-dir: a self-signed serving certificate when no --tls-cert-file is given, as
// k8s.io/apiserver@v0.37.2 pkg/server/options/serving.go MaybeDefaultWithSelfSignedCerts writes
// one with k8s.io/client-go@v0.37.2 util/cert/cert.go GenerateSelfSignedCertKeyWithOptions:
// an RSA-2048 CA "<host>-ca@<unix time>" and a serving certificate "<host>@<unix time>" it signs
// (server auth, SANs: the host and the alternates), valid from an hour ago for a year, the cert
// file holding the serving certificate then the CA, the key file its PKCS#1 key. Node has no
// certificate builder, so the DER is written here.

/**
 * The file names in --cert-dir: kube-oidc-proxy v0.3.0 gives its GeneratableKeyCert the PairName
 * "kube-oidc-proxy" (cmd/app/options/serving.go: AppName), so `<cert-dir>/kube-oidc-proxy.crt`
 * and `.key` (kube-apiserver's own pair is "apiserver"). kube-oidc-proxy v0.3.0 itself never calls
 * MaybeDefaultWithSelfSignedCerts, so without --tls-cert-file it served no certificate at all.
 */
export const certDirPairName = "kube-oidc-proxy";

const der = (tag: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  const n = body.length;
  const length =
    n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
};
const seq = (...parts: Buffer[]) => der(0x30, ...parts);
const oid = (dotted: string): Buffer => {
  const [a = 0, b = 0, ...rest] = dotted.split(".").map(Number);
  const bytes = [a * 40 + b];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let v = arc >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
};
/** A non-negative INTEGER in DER's minimal form: no leading zero byte unless the next has its high bit set. */
const positiveInteger = (bytes: Buffer): Buffer => {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const minimal = bytes.subarray(start);
  return der(0x02, (minimal[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal);
};
const derTime = (date: Date): Buffer => {
  const iso = date.toISOString().replace(/[-:T]/g, "").slice(0, 14); // YYYYMMDDHHMMSS
  // RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime after.
  return date.getUTCFullYear() < 2050 ? der(0x17, Buffer.from(`${iso.slice(2)}Z`)) : der(0x18, Buffer.from(`${iso}Z`));
};
const commonName = (cn: string) => seq(der(0x31, seq(oid("2.5.4.3"), der(0x0c, Buffer.from(cn, "utf8")))));
const extension = (id: string, critical: boolean, value: Buffer) =>
  seq(oid(id), ...(critical ? [der(0x01, Buffer.from([0xff]))] : []), der(0x04, value));
const sha256WithRsa = seq(oid("1.2.840.113549.1.1.11"), der(0x05));

/** An IP address's bytes as x509 marshals it: 4 for IPv4, 16 for IPv6. */
function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split(".").map(Number));
  const [head = "", tail] = ip.split("::");
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  return Buffer.concat(all.map((g) => Buffer.from(g.padStart(4, "0"), "hex")));
}

function certificateDer(options: {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signingKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  extensions: Buffer[];
}): Buffer {
  // Go's serial: uniform in [1, MaxInt64).
  const serial = randomBytes(8);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))), // v3
    positiveInteger(serial),
    sha256WithRsa,
    commonName(options.issuer),
    seq(derTime(options.notBefore), derTime(options.notAfter)),
    commonName(options.subject),
    options.publicKey.export({ type: "spki", format: "der" }),
    der(0xa3, seq(...options.extensions)),
  );
  const signature = sign("sha256", tbs, options.signingKey);
  return seq(tbs, sha256WithRsa, der(0x03, Buffer.from([0]), signature));
}

const pem = (body: Buffer) =>
  `-----BEGIN CERTIFICATE-----\n${
    body
      .toString("base64")
      .match(/.{1,64}/g)
      ?.join("\n") ?? ""
  }\n-----END CERTIFICATE-----\n`;

/** GenerateSelfSignedCertKeyWithOptions' certificate pair, PEM: the serving certificate then its CA; the PKCS#1 key. */
export function generateSelfSignedCertKey(
  host: string,
  alternateIps: readonly string[],
  alternateDns: readonly string[],
  now = new Date(),
): { certPem: string; keyPem: string } {
  const notBefore = new Date(now.getTime() - 3_600_000);
  const notAfter = new Date(notBefore.getTime() + 365 * 24 * 3_600_000);
  const unix = Math.floor(now.getTime() / 1000);
  const ca = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const caName = `${host}-ca@${unix}`;
  // keyUsage bits: digitalSignature (0x80), keyEncipherment (0x20), keyCertSign (0x04).
  const caDer = certificateDer({
    subject: caName,
    issuer: caName,
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
    notBefore,
    notAfter,
    extensions: [
      extension("2.5.29.15", true, der(0x03, Buffer.from([2, 0xa4]))),
      extension("2.5.29.19", true, seq(der(0x01, Buffer.from([0xff])))),
    ],
  });
  const leaf = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const ips = isIP(host) !== 0 ? [host, ...alternateIps] : [...alternateIps];
  const dns = isIP(host) !== 0 ? [...alternateDns] : [host, ...alternateDns];
  const names = [
    ...dns.map((name) => der(0x82, Buffer.from(name, "ascii"))),
    ...ips.map((ip) => der(0x87, ipBytes(ip))),
  ];
  const leafDer = certificateDer({
    subject: `${host}@${unix}`,
    issuer: caName,
    publicKey: leaf.publicKey,
    signingKey: ca.privateKey,
    notBefore,
    notAfter,
    extensions: [
      extension("2.5.29.15", true, der(0x03, Buffer.from([5, 0xa0]))),
      extension("2.5.29.37", false, seq(oid("1.3.6.1.5.5.7.3.1"))),
      extension("2.5.29.19", true, seq()),
      ...(names.length > 0 ? [extension("2.5.29.17", false, seq(...names))] : []),
    ],
  });
  return {
    certPem: pem(leafDer) + pem(caDer),
    keyPem: leaf.privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
  };
}

/**
 * The serving certificate and key in `certDir`, generated when they are not both there
 * (MaybeDefaultWithSelfSignedCerts): reused when both can be read (certutil.CanReadCertAndKey),
 * refused when only one can. The host and alternates are those of the generic API servers'
 * defaults (`"localhost"`, 127.0.0.1), plus, as MaybeDefaultWithSelfSignedCerts adds, the DNS
 * name localhost for a wildcard bind address or the bind address itself otherwise.
 */
export async function certDirServingPair(
  certDir: string,
  bindAddress: string,
): Promise<{ certFile: string; keyFile: string; generated: boolean }> {
  const certFile = join(certDir, `${certDirPairName}.crt`);
  const keyFile = join(certDir, `${certDirPairName}.key`);
  const readable = async (file: string) =>
    access(file, constants.R_OK).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return false;
        throw unreadableFile("CERT_DIR_UNUSABLE", "--cert-dir", file, error);
      },
    );
  // One after the other, as certutil.CanReadCertAndKey reads them: with both failing, the error
  // names the certificate every time (Promise.all named whichever access() lost the race).
  const cert = await readable(certFile);
  const key = await readable(keyFile);
  if (cert && key) return { certFile, keyFile, generated: false };
  if (cert !== key) {
    throw new ConfigError(
      "CERT_DIR_PAIR",
      `error reading ${cert ? keyFile : certFile}, certificate and key must be supplied as a pair`,
    );
  }
  const unspecified = bindAddress === "0.0.0.0" || bindAddress === "::" || bindAddress === "";
  const pair = generateSelfSignedCertKey(
    "localhost",
    ["127.0.0.1", ...(unspecified ? [] : [bindAddress])],
    unspecified ? ["localhost"] : [],
  );
  // certutil.WriteCert and keyutil.WriteKey: the folder 0755, the certificate 0644, the key 0600.
  // A folder this process may not write (the image's non-root user and a root-owned mount)
  // names --cert-dir, not a bare EACCES that serve would take for a port it could not bind.
  const write = async (path: string, step: () => Promise<unknown>) =>
    step().catch((error: unknown) => {
      throw unreadableFile("CERT_DIR_UNUSABLE", "--cert-dir", path, error);
    });
  await write(certDir, () => mkdir(certDir, { recursive: true, mode: 0o755 }));
  await write(certFile, () => writeFile(certFile, pair.certPem, { mode: 0o644 }));
  await write(keyFile, () => writeFile(keyFile, pair.keyPem, { mode: 0o600 }));
  return { certFile, keyFile, generated: true };
}
