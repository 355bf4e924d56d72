import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError } from "../../src/config/errors.ts";
import { loadServeConfig } from "../../src/config/serve-config.ts";

const issuer = "https://issuer.example.com/realms/kube";
const base = [
  "--oidc-issuer-url",
  issuer,
  "--oidc-client-id=kubernetes",
  "--tls-cert-file=/tls/crt",
  "--tls-private-key-file=/tls/key",
];
const load = (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const { config } = loadServeConfig([...base, ...args], env);
  assert.ok(config);
  return config;
};
const jwt = (args: string[], env?: NodeJS.ProcessEnv) => {
  const config = load(args, env).authentication.jwt[0];
  assert.ok(config);
  return config;
};

describe("serve configuration", () => {
  describe("kube-apiserver's username prefix rule (ToAuthenticationConfig)", () => {
    it("defaults to '<issuer>#' for a claim other than email", () => {
      assert.deepEqual(jwt([]).claimMappings.username, { claim: "sub", prefix: `${issuer}#` });
    });
    it("has no default prefix for the email claim", () => {
      assert.deepEqual(jwt(["--oidc-username-claim=email"]).claimMappings.username, { claim: "email", prefix: "" });
    });
    it("treats '-' as no prefix", () => {
      assert.deepEqual(jwt(["--oidc-username-prefix=-"]).claimMappings.username, { claim: "sub", prefix: "" });
    });
    it("applies any other prefix literally, and the groups prefix always literally", () => {
      const config = jwt(["--oidc-username-prefix=oidc:", "--oidc-groups-claim=groups", "--oidc-groups-prefix=oidc:"]);
      assert.deepEqual(config.claimMappings.username, { claim: "sub", prefix: "oidc:" });
      assert.deepEqual(config.claimMappings.groups, { claim: "groups", prefix: "oidc:" });
    });
  });

  it("accepts kube-apiserver flag spellings: --flag value, --flag=value, repeated and comma lists, --bool=true", () => {
    const config = load([
      "--oidc-required-claim",
      "hd=example.com",
      "--oidc-required-claim=tier=gold,team=a",
      "--oidc-signing-algs=RS256,ES256",
      "--oidc-signing-algs=PS256",
      "--allow-system-identities=true",
      "--readiness-probe-port=9090",
    ]);
    assert.deepEqual(config.authentication.jwt[0]?.requiredClaims, { hd: "example.com", tier: "gold", team: "a" });
    assert.deepEqual(config.authentication.jwt[0]?.signingAlgorithms, ["RS256", "ES256", "PS256"]);
    assert.equal(config.authentication.allowSystemIdentities, true);
    assert.equal(config.serving.healthPort, 9090, "kube-oidc-proxy's --readiness-probe-port is an alias");
  });

  it("has kube-apiserver's and kube-oidc-proxy's defaults", () => {
    const config = load([]);
    assert.deepEqual(config.authentication.jwt[0]?.signingAlgorithms, ["RS256"]);
    assert.equal(config.authentication.tokenCacheTtlMs, 10_000);
    assert.equal(config.serving.securePort, 443);
    assert.equal(config.serving.healthPort, 8080);
    assert.equal(config.authentication.allowSystemIdentities, false);
    assert.deepEqual(config.auditLogRotation, { maxSizeMb: 100, maxBackups: 100, maxAgeDays: 366 });
  });

  it("takes kube-apiserver's audit log rotation flags", () => {
    const config = load(["--audit-log-maxsize=5", "--audit-log-maxbackup", "0", "--audit-log-maxage=30"]);
    assert.deepEqual(config.auditLogRotation, { maxSizeMb: 5, maxBackups: 0, maxAgeDays: 30 });
  });

  it("takes flags over environment over the config file", () => {
    const dir = mkdtempSync(join(tmpdir(), "kog-config-"));
    const file = join(dir, "serve.yaml");
    writeFileSync(
      file,
      "oidc-groups-claim: roles\nsecure-port: 9443\nlog-level: debug\noidc-required-claim:\n  hd: example.com\n",
    );
    const { config } = loadServeConfig([...base, `--config=${file}`, "--log-level=warn"], {
      KOG_SECURE_PORT: "10443",
      KOG_OIDC_USERNAME_CLAIM: "email",
    });
    assert.equal(config?.logLevel, "warn");
    assert.equal(config?.serving.securePort, 10443);
    assert.deepEqual(config?.authentication.jwt[0]?.claimMappings.groups, { claim: "roles", prefix: "" });
    assert.deepEqual(config?.authentication.jwt[0]?.claimMappings.username, { claim: "email", prefix: "" });
    assert.deepEqual(config?.authentication.jwt[0]?.requiredClaims, { hd: "example.com" });
  });

  it("is frozen", () => {
    const config = load([]);
    assert.throws(() => {
      (config.serving as { securePort: number }).securePort = 1;
    }, TypeError);
  });

  const refusals: [string, string[], string, RegExp][] = [
    ["an http issuer", ["--oidc-issuer-url=http://issuer.example.com"], "OIDC_ISSUER_INVALID", /must be https/],
    ["an issuer with a query", ["--oidc-issuer-url=https://issuer.example.com/?a=b"], "OIDC_ISSUER_INVALID", /query/],
    ["HS256", ["--oidc-signing-algs=HS256"], "OIDC_UNSUPPORTED_ALG", /unsupported signing alg: "HS256"/],
    ["none", ["--oidc-signing-algs=none"], "OIDC_UNSUPPORTED_ALG", /unsupported signing alg/],
    [
      "an unknown flag",
      ["--oidc-issuer=x"],
      "UNKNOWN_FLAG",
      /unknown flag: --oidc-issuer \(did you mean --oidc-issuer-url\?\)/,
    ],
    ["a bad boolean", ["--allow-system-identities=maybe"], "INVALID_FLAG_VALUE", /invalid boolean/],
    ["a bad port", ["--secure-port=70000"], "INVALID_FLAG_VALUE", /not a port/],
    ["a bad duration", ["--token-cache-ttl=10 seconds"], "INVALID_FLAG_VALUE", /invalid duration/],
    ["an untrusted-proxy that is not an IP", ["--trusted-proxies=ingress"], "INVALID_FLAG_VALUE", /not an IP address/],
    ["a negative --audit-log-maxbackup", ["--audit-log-maxbackup=-1"], "INVALID_FLAG_VALUE", /can't be a negative/],
    ["a missing CA file", ["--oidc-ca-file=/nonexistent/ca.pem"], "OIDC_CA_UNREADABLE", /no such file/],
  ];
  for (const [what, args, code, message] of refusals) {
    it(`refuses ${what} with a clear message`, () => {
      assert.throws(
        () => loadServeConfig([...base, ...args], {}),
        (error: unknown) => error instanceof ConfigError && error.code === code && message.test(error.message),
      );
    });
  }

  it("needs the issuer and the client id together, as kube-apiserver does", () => {
    assert.throws(
      () => loadServeConfig(["--oidc-issuer-url", issuer, "--tls-cert-file=a", "--tls-private-key-file=b"], {}),
      {
        code: "OIDC_FLAGS_INCOMPLETE",
      },
    );
  });

  it("refuses --authentication-config together with --oidc-* flags, as kube-apiserver does", () => {
    assert.throws(() => loadServeConfig([...base, "--authentication-config=/etc/auth.yaml"], {}), {
      code: "AUTHENTICATION_CONFIG_CONFLICT",
      message: /--authentication-config and --oidc-issuer-url are mutually exclusive/,
    });
  });

  it("needs a serving certificate", () => {
    assert.throws(() => loadServeConfig(["--oidc-issuer-url", issuer, "--oidc-client-id=k"], {}), {
      code: "MISSING_REQUIRED_FLAG",
      message: /--tls-cert-file is required/,
    });
  });

  it("reports --help instead of validating", () => {
    assert.deepEqual(loadServeConfig(["--help"], {}), { help: true });
  });
});
