// The serving certificate's errors name the fix (issue 19): a missing file named by its flag
// instead of Node's bare `ENOENT: no such file or directory, open '…'` (which serve printed with
// exit 1), a key that does not belong to its certificate said in words instead of OpenSSL's
// `error:05800074:x509 certificate routines::key values mismatch`. Real files, real listeners.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as tls from "node:tls";
import { ConfigError } from "../../src/config/errors.ts";
import { certDirServingPair, TlsListener, type TlsListenerOptions } from "../../src/server/tls-listener.ts";
import { TestCA } from "../../testbed/ca.ts";
import { repoRoot } from "../../testbed/paths.ts";
import { writeUnreachableKubeconfig } from "../helpers/unreachable-kubeconfig.ts";

describe("serving certificate errors name the setting and say what is wrong", { timeout: 60_000 }, () => {
  let dir: string;
  let ca: TestCA;
  const files: Record<string, { cert: string; key: string }> = {};
  const listeners: TlsListener[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "kog-tls-errors-"));
    ca = await TestCA.create();
    for (const name of ["a", "b"]) {
      const pair = await ca.issueLoopbackServer(`${name}.example`);
      files[name] = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
      await writeFile(files[name].cert, pair.certPem);
      await writeFile(files[name].key, pair.keyPem);
    }
  });
  after(async () => {
    for (const listener of listeners) {
      listener.stopAccepting();
      listener.closeAll();
    }
    await rm(dir, { recursive: true, force: true });
  });

  /** The real executable's `serve`, its API server never reached (nothing is proxied before it listens). */
  async function serve(args: string[], asUser?: number): Promise<{ code: number | null; stderr: string }> {
    const kubeconfig = writeUnreachableKubeconfig(dir);
    const argv = [
      join(repoRoot, "src", "cli", "main.ts"),
      "serve",
      ...args,
      "--oidc-issuer-url=https://127.0.0.1:2",
      "--oidc-client-id=x",
      `--kubeconfig=${kubeconfig}`,
      "--bind-address=127.0.0.1",
      "--secure-port=0",
      "--health-port=0",
    ];
    const [command, commandArgs] =
      asUser === undefined
        ? [process.execPath, argv]
        : ["setpriv", [`--reuid=${asUser}`, `--regid=${asUser}`, "--clear-groups", process.execPath, ...argv]];
    return new Promise((resolve) => {
      execFile(
        command,
        commandArgs,
        { timeout: 60_000, env: { PATH: process.env.PATH ?? "" } },
        (error, _stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stderr }),
      );
    });
  }

  const a = () => files.a as { cert: string; key: string };
  const b = () => files.b as { cert: string; key: string };

  function listener(options: Partial<TlsListenerOptions>): TlsListener {
    const created = new TlsListener({
      certFile: a().cert,
      keyFile: a().key,
      maxHeaderBytes: 1 << 20,
      onRequest: (_req, res) => res.end("ok"),
      onUpgrade: (_req, socket) => socket.destroy(),
      ...options,
    });
    listeners.push(created);
    return created;
  }

  /** The ConfigError listen() rejects with; fails the test when it listens instead. */
  async function refusal(options: Partial<TlsListenerOptions>): Promise<ConfigError> {
    const error = await listener(options)
      .listen(0, "127.0.0.1")
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}`);
    assert.doesNotMatch(error.message, /ENOENT|error:0|routines::/, "Node's or OpenSSL's code instead of words");
    return error;
  }

  it("the matching pair listens (the control: the files below differ from it in one way each)", async () => {
    const { port } = await listener({}).listen(0, "127.0.0.1");
    const subject = await new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: "127.0.0.1", port, ca: ca.certPem }, () => {
        resolve(String(socket.getPeerCertificate().subject?.CN));
        socket.destroy();
      });
      socket.once("error", reject);
    });
    assert.equal(subject, "a.example");
  });

  it("a missing --tls-cert-file is named by its flag, not a bare ENOENT", async () => {
    const missing = join(dir, "tls", "tls.crt");
    const error = await refusal({ certFile: missing });
    assert.equal(error.code, "TLS_FILE_UNREADABLE");
    assert.equal(error.message, `--tls-cert-file: ${missing}: no such file`);
  });

  it("a missing --tls-private-key-file is named by its flag", async () => {
    const missing = join(dir, "tls", "tls.key");
    const error = await refusal({ keyFile: missing });
    assert.equal(error.message, `--tls-private-key-file: ${missing}: no such file`);
  });

  it("a directory given as the certificate is said to be one", async () => {
    const folder = join(dir, "a-folder");
    await mkdir(folder, { recursive: true });
    const error = await refusal({ certFile: folder });
    assert.equal(error.message, `--tls-cert-file: ${folder}: a directory, not a file`);
  });

  it("a key that does not belong to the certificate is said in words, naming both files", async () => {
    const error = await refusal({ keyFile: b().key });
    assert.equal(error.code, "TLS_KEY_MISMATCH");
    assert.match(
      error.message,
      new RegExp(
        `^the private key in ${b().key} \\(--tls-private-key-file\\) does not belong to the certificate in ${a().cert} \\(--tls-cert-file\\)`,
      ),
    );
  });

  it("swapped certificate and key files are named as probably swapped", async () => {
    const error = await refusal({ certFile: a().key, keyFile: a().cert });
    assert.equal(error.code, "TLS_CERTIFICATE_INVALID");
    assert.match(
      error.message,
      /^--tls-cert-file: .*a\.key holds no PEM certificate.*are the certificate and key files swapped\?/,
    );
  });

  it("a key file that holds no key names --tls-private-key-file", async () => {
    const notKey = join(dir, "not-a-key.pem");
    await writeFile(notKey, "hello\n");
    const error = await refusal({ keyFile: notKey });
    assert.equal(error.code, "TLS_KEY_INVALID");
    assert.match(error.message, /^--tls-private-key-file: .*not-a-key\.pem holds no unencrypted PEM private key/);
  });

  it("a --tls-sni-cert-key file that is missing, or a pair that does not match, names --tls-sni-cert-key", async () => {
    const missing = join(dir, "sni.crt");
    const gone = await refusal({ sniCertKeys: [{ certFile: missing, keyFile: b().key, names: [] }] });
    assert.equal(gone.message, `--tls-sni-cert-key: ${missing}: no such file`);
    const mismatch = await refusal({ sniCertKeys: [{ certFile: b().cert, keyFile: a().key, names: ["b.example"] }] });
    assert.equal(mismatch.code, "TLS_KEY_MISMATCH");
    assert.match(
      mismatch.message,
      new RegExp(
        `^--tls-sni-cert-key: the private key in ${a().key} does not belong to the certificate in ${b().cert}`,
      ),
    );
  });

  it("a reload to a mismatched pair keeps the old one and reports the mismatch in words", async () => {
    const rotating = { cert: join(dir, "rotating.crt"), key: join(dir, "rotating.key") };
    const { readFile } = await import("node:fs/promises");
    await writeFile(rotating.cert, await readFile(a().cert));
    await writeFile(rotating.key, await readFile(a().key));
    const reloads: { ok: boolean; error?: Error }[] = [];
    const server = listener({
      certFile: rotating.cert,
      keyFile: rotating.key,
      reloadIntervalMs: 50,
      onReload: (ok, error) => reloads.push({ ok, error }),
    });
    await server.listen(0, "127.0.0.1");
    await writeFile(rotating.key, await readFile(b().key)); // the key rotated, the certificate not yet
    const deadline = Date.now() + 5_000;
    while (reloads.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const first = reloads[0];
    assert.equal(first?.ok, false);
    assert.ok(first?.error instanceof ConfigError);
    assert.match(first.error.message, /^the private key in .*rotating\.key \(--tls-private-key-file\) does not belong/);
  });

  it("a --cert-dir that cannot be created names --cert-dir, not a bare errno that serve took for a port it could not bind", async () => {
    // As a non-root user under a root-owned folder this was `EACCES: permission denied, mkdir …`,
    // and serve's low-port advice then spoke of "Port 0". The tests run as root, which may write
    // anywhere, so a path through a regular file stands in for the unwritable folder.
    const file = join(dir, "plain-file");
    await writeFile(file, "not a folder\n");
    const certDir = join(file, "certs");
    const error = await certDirServingPair(certDir, "127.0.0.1").then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}`);
    assert.equal(error.code, "CERT_DIR_UNUSABLE");
    assert.equal(
      error.message,
      `--cert-dir: ${join(certDir, "kube-oidc-proxy.crt")}: a part of the path is not a directory`,
    );
    assert.equal((error as { port?: number }).port, undefined);
  });

  it("as a non-root user, a --cert-dir it may not create is named, not taken for a privileged port", {
    skip: process.getuid?.() !== 0 ? "needs root to run serve as another user" : false,
  }, async () => {
    // The image's user 10001 and a root-owned folder: serve printed `EACCES: permission denied,
    // mkdir '…'` followed by "Port 0 is privileged …" advice, with exit 1.
    const { chmod, mkdir: makeDir } = await import("node:fs/promises");
    const rootOwned = join(dir, "root-owned");
    await makeDir(rootOwned, { recursive: true });
    await chmod(dir, 0o755);
    await chmod(rootOwned, 0o755);
    const result = await serve([`--cert-dir=${join(rootOwned, "certs")}`], 10001);
    assert.equal(result.code, 2, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(`--cert-dir: ${join(rootOwned, "certs")}: permission denied \\(this process runs as uid 10001\\)`),
    );
    assert.doesNotMatch(result.stderr, /privileged|EACCES/);
  });

  it("serve itself prints the flag-named error on stderr and stops before it listens", async () => {
    // The real executable, as a platform engineer runs it; the API server in the kubeconfig is
    // never reached (nothing is proxied before the listener is up).
    const missing = join(dir, "tls", "tls.crt");
    const result = await serve([`--tls-cert-file=${missing}`, `--tls-private-key-file=${a().key}`]);
    assert.equal(result.code, 2, result.stderr); // a configuration error, as the others exit
    assert.match(result.stderr, new RegExp(`--tls-cert-file: ${missing}: no such file`));
    assert.doesNotMatch(result.stderr, /ENOENT|gateway listening/);
  });
});
