import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError } from "../../src/config/errors.ts";
import { loadServeConfig } from "../../src/config/serve-config.ts";

const issuer = "https://issuer.example.com/realms/kube";
const dir = mkdtempSync(join(tmpdir(), "kog-session-config-"));
const cookieSecret = join(dir, "cookie-secret");
writeFileSync(cookieSecret, `${"s".repeat(40)}\n${"t".repeat(40)}\n`);
const shortSecret = join(dir, "short-secret");
writeFileSync(shortSecret, "too-short\n");
const clientSecret = join(dir, "client-secret");
writeFileSync(clientSecret, "the-client-secret\n");

const base = [
  `--oidc-issuer-url=${issuer}`,
  "--oidc-client-id=kubernetes",
  "--tls-cert-file=/tls/crt",
  "--tls-private-key-file=/tls/key",
];
const sessions = [
  "--session-client-id=kube-oidc-gateway",
  "--session-external-url=https://k8s.example.com/",
  `--session-cookie-secret-file=${cookieSecret}`,
];
const load = (args: string[]) => loadServeConfig([...base, ...args], {}).config;
const refused = (args: string[], code: string, message?: RegExp) =>
  assert.throws(
    () => load(args),
    (error: unknown) =>
      error instanceof ConfigError && error.code === code && (!message || message.test(error.message)),
  );

describe("session configuration", () => {
  it("is off without --session-client-id", () => {
    assert.equal(load([])?.session, undefined);
  });

  it("defaults to the OIDC issuer, a memory store, the __Host- cookie and no dashboard", () => {
    const session = load([...sessions, `--session-client-secret-file=${clientSecret}`])?.session;
    assert.ok(session);
    assert.equal(session.issuerUrl, issuer);
    assert.equal(session.externalUrl, "https://k8s.example.com");
    assert.equal(session.clientSecret, "the-client-secret");
    assert.deepEqual(session.cookieSecrets, ["s".repeat(40), "t".repeat(40)]);
    assert.equal(session.cookieName, "__Host-kog-session");
    assert.deepEqual(session.store, { kind: "memory" });
    assert.deepEqual(session.scopes, ["openid", "profile", "email"]);
    assert.equal(session.apiPrefix, "", "without a dashboard the API is at /");
    assert.equal(session.refreshAheadMs, 60_000);
    assert.ok(Object.isFrozen(session));
  });

  it("serves the API under the prefix when a dashboard is behind the gateway", () => {
    const session = load([...sessions, "--dashboard-upstream=http://headlamp:4466"])?.session;
    assert.equal(session?.apiPrefix, "/k8s");
    assert.equal(session?.dashboard?.token, "id");
  });

  it("refuses settings that cannot work, naming the flag", () => {
    refused(["--session-external-url=https://x"], "SESSION_FLAG_WITHOUT_CLIENT", /--session-external-url/);
    refused(["--whoami-page"], "SESSION_FLAG_WITHOUT_CLIENT");
    refused(
      sessions.filter((f) => !f.includes("external")),
      "MISSING_REQUIRED_FLAG",
      /--session-external-url/,
    );
    refused([...sessions, "--session-external-url=http://k8s.example.com"], "INVALID_FLAG_VALUE");
    refused(
      sessions.filter((f) => !f.includes("cookie-secret")),
      "MISSING_REQUIRED_FLAG",
      /cookie-secret/,
    );
    refused([...sessions, `--session-cookie-secret-file=${shortSecret}`], "WEAK_COOKIE_SECRET");
    refused([...sessions, "--session-store=redis"], "MISSING_REQUIRED_FLAG", /--session-redis-url/);
    refused([...sessions, "--session-store=etcd"], "INVALID_FLAG_VALUE");
    refused([...sessions, "--session-issuer-url=https://other.example.com"], "SESSION_ISSUER_NOT_TRUSTED");
    refused([...sessions, "--dashboard-upstream=http://d", "--session-api-prefix=/oauth2"], "INVALID_FLAG_VALUE");
    refused([...sessions, "--session-post-logout-path=//evil.example"], "INVALID_FLAG_VALUE");
  });
});
