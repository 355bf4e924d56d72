// The audit webhook's kubeconfig as kube-apiserver reads it (clientcmd through
// pkg/util/webhook LoadKubeconfig): the current context's cluster and user, files relative to the
// kubeconfig, and the configurations refused at start.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadWebhookConfig } from "../../../src/audit/backends/webhook-config.ts";
import { ConfigError } from "../../../src/config/errors.ts";

const kubeconfig = (cluster: Record<string, unknown>, user: Record<string, unknown>, extra: object = {}) =>
  JSON.stringify({
    clusters: [
      { name: "other", cluster: { server: "https://other.example" } },
      { name: "audit", cluster },
    ],
    users: [{ name: "audit", user }],
    contexts: [
      { name: "other", context: { cluster: "other", user: "audit" } },
      { name: "audit", context: { cluster: "audit", user: "audit" } },
    ],
    "current-context": "audit",
    ...extra,
  });

describe("audit webhook kubeconfig", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "kog-audit-webhook-config-"));
    await mkdir(join(dir, "pki"));
    await writeFile(join(dir, "pki", "ca.crt"), "CA PEM");
    await writeFile(join(dir, "pki", "client.crt"), "CERT PEM");
    await writeFile(join(dir, "pki", "client.key"), "KEY PEM");
    await writeFile(join(dir, "pki", "token"), "file-token\n");
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const load = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return loadWebhookConfig(path);
  };
  const refused = async (name: string, text: string, message: RegExp) => {
    await assert.rejects(
      () => load(name, text),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.code === "AUDIT_WEBHOOK_CONFIG_INVALID" &&
        error.message.startsWith(`--audit-webhook-config-file ${join(dir, name)}: `) &&
        message.test(error.message),
    );
  };

  it("the current context's cluster and user; files relative to the kubeconfig's folder", async () => {
    const target = await load(
      "files.yaml",
      kubeconfig(
        {
          server: "https://audit.example:8443/events",
          "certificate-authority": "pki/ca.crt",
          "tls-server-name": "audit",
        },
        { "client-certificate": "pki/client.crt", "client-key": "pki/client.key", tokenFile: "pki/token" },
      ),
    );
    assert.equal(target.url.href, "https://audit.example:8443/events");
    assert.equal(target.ca, "CA PEM");
    assert.equal(target.cert, "CERT PEM");
    assert.equal(target.key, "KEY PEM");
    assert.equal(target.servername, "audit");
    assert.equal(target.tokenFile, join(dir, "pki", "token"));
    assert.equal(target.token, "file-token", "read at start, the fallback when a later read fails");
  });

  it("inline data, a token, basic auth, and plain http", async () => {
    const inline = await load(
      "inline.yaml",
      kubeconfig(
        { server: "https://127.0.0.1:9443", "certificate-authority-data": Buffer.from("CA").toString("base64") },
        { token: "t0k3n" },
      ),
    );
    assert.equal(inline.ca, "CA");
    assert.equal(inline.token, "t0k3n");
    const basic = await load(
      "basic.yaml",
      kubeconfig({ server: "http://127.0.0.1:8080" }, { username: "u", password: "p" }),
    );
    assert.equal(basic.url.protocol, "http:");
    assert.deepEqual(basic.basic, { username: "u", password: "p" });
  });

  it("refuses what kube-apiserver refuses, and what the gateway will not do", async () => {
    await refused(
      "no-context.yaml",
      kubeconfig({ server: "https://a" }, {}, { "current-context": "" }),
      /current-context/,
    );
    await refused(
      "missing-context.yaml",
      kubeconfig({ server: "https://a" }, {}, { "current-context": "x" }),
      /"x" not found/,
    );
    await refused("no-server.yaml", kubeconfig({}, {}), /has no server/);
    await refused("scheme.yaml", kubeconfig({ server: "ftp://a" }, {}), /https or http/);
    await refused("two-methods.yaml", kubeconfig({ server: "https://a" }, { token: "t", username: "u" }), /keep one/);
    await refused(
      "half-pair.yaml",
      kubeconfig({ server: "https://a" }, { "client-certificate": "pki/client.crt" }),
      /key/,
    );
    await refused(
      "no-ca-file.yaml",
      kubeconfig({ server: "https://a", "certificate-authority": "nope.crt" }, {}),
      /nope\.crt/,
    );
    await refused("not-yaml.yaml", "clusters: [", /kubeconfig-format/);
  });
});
