import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError } from "../../src/config/errors.ts";
import { loadServeConfig, loadSessionRedis, type ServeConfig } from "../../src/config/serve-config.ts";

/** The Redis store's connection as serve hands it to the session front (config.session.store). */
const redisConnectionOf = (config: ServeConfig) =>
  config.session?.store.kind === "redis" ? config.session.store.connection : undefined;

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
    const { maxSizeMb, maxBackups, maxAgeDays } = config.audit.log;
    assert.deepEqual({ maxSizeMb, maxBackups, maxAgeDays }, { maxSizeMb: 100, maxBackups: 100, maxAgeDays: 366 });
  });

  it("takes kube-apiserver's audit log rotation flags", () => {
    const config = load([
      "--audit-log-path=/var/log/audit.log",
      "--audit-log-maxsize=5",
      "--audit-log-maxbackup",
      "0",
      "--audit-log-maxage=30",
    ]);
    const { maxSizeMb, maxBackups, maxAgeDays } = config.audit.log;
    assert.deepEqual({ maxSizeMb, maxBackups, maxAgeDays }, { maxSizeMb: 5, maxBackups: 0, maxAgeDays: 30 });
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
    [
      "a trusted proxy that is neither an address nor a range",
      ["--trusted-proxies=ingress"],
      "INVALID_FLAG_VALUE",
      /--trusted-proxies: "ingress" is neither an IP address nor a CIDR range \(e\.g\. 10\.0\.0\.7, 10\.0\.0\.0\/8/,
    ],
    [
      "a trusted-proxy range with an IPv4 prefix over 32",
      ["--trusted-proxies=10.0.0.0/8,10.0.0.0/33"],
      "INVALID_FLAG_VALUE",
      /"10\.0\.0\.0\/33" is neither .*: the prefix length must be 0 to 32/,
    ],
    [
      "a trusted-proxy range with an IPv6 prefix over 128",
      ["--trusted-proxies=fd00::/129"],
      "INVALID_FLAG_VALUE",
      /the prefix length must be 0 to 128/,
    ],
    [
      "a trusted-proxy range without a prefix",
      ["--trusted-proxies=10.0.0.0/"],
      "INVALID_FLAG_VALUE",
      /"10\.0\.0\.0\/"/,
    ],
    ["a trusted-proxy range with a host name", ["--trusted-proxies=ingress/8"], "INVALID_FLAG_VALUE", /"ingress\/8"/],
    [
      "an unknown --log-format",
      ["--log-format=logfmt"],
      "INVALID_FLAG_VALUE",
      /--log-format: expected json or text, got "logfmt"/,
    ],
    [
      "an --access-log-sample-rate above 1",
      ["--access-log-sample-rate=2"],
      "INVALID_FLAG_VALUE",
      /--access-log-sample-rate: expected a number from 0 to 1/,
    ],
    [
      "an --access-log-sample-rate that is no number",
      ["--access-log-sample-rate=10%"],
      "INVALID_FLAG_VALUE",
      /--access-log-sample-rate: expected a number from 0 to 1 \(e\.g\. 0\.1 for one in ten\), got "10%"/,
    ],
    [
      "a negative --audit-log-maxbackup",
      ["--audit-log-path=/tmp/a.log", "--audit-log-maxbackup=-1"],
      "INVALID_FLAG_VALUE",
      /can't be a negative/,
    ],
    [
      "a missing CA file",
      ["--oidc-ca-file=/nonexistent/ca.pem"],
      "OIDC_CA_UNREADABLE",
      /^--oidc-ca-file: \/nonexistent\/ca\.pem: no such file$/,
    ],
    // Regression: these passed Node's "ENOENT: no such file or directory, open '…'" on.
    [
      "a missing config file",
      ["--config=/nonexistent/config.yaml"],
      "CONFIG_FILE_UNREADABLE",
      /^--config: \/nonexistent\/config\.yaml: no such file$/,
    ],
    [
      "--api-port on the secure port",
      ["--secure-port=8443", "--api-port=8443"],
      "INVALID_FLAG_VALUE",
      /already --secure-port/,
    ],
    ["--api-port on the health port", ["--api-port=8080"], "INVALID_FLAG_VALUE", /already --health-port/],
    ["--api-port out of range", ["--api-port=70000"], "INVALID_FLAG_VALUE", /not a port/],
  ];
  for (const [what, args, code, message] of refusals) {
    it(`refuses ${what} with a clear message`, () => {
      assert.throws(
        () => loadServeConfig([...base, ...args], {}),
        (error: unknown) => error instanceof ConfigError && error.code === code && message.test(error.message),
      );
    });
  }

  it("takes --trusted-proxies as addresses and CIDR ranges, IPv4 and IPv6", () => {
    const config = load(["--trusted-proxies=10.0.0.7,10.0.0.0/8,fd00::/8,::1"]);
    assert.deepEqual(config.serving.trustedProxies, ["10.0.0.7", "10.0.0.0/8", "fd00::/8", "::1"]);
  });

  it("writes an access log of every request by default, and takes a sample rate or off", () => {
    assert.deepEqual(load([]).accessLog, { sampleRate: 1 });
    assert.deepEqual(load(["--access-log-sample-rate=0.25"]).accessLog, { sampleRate: 0.25 });
    assert.equal(load(["--access-log=false"]).accessLog, undefined);
    assert.equal(load([]).logFormat, "json");
    assert.equal(load([], { KOG_LOG_FORMAT: "text" }).logFormat, "text");
  });

  it("reports each effective setting with where it came from: flag, environment, config file or default", () => {
    const dir = mkdtempSync(join(tmpdir(), "kog-effective-"));
    const file = join(dir, "config.yaml");
    writeFileSync(file, "health-port: 9090\nlog-level: warn\nsecure-port: 7443\n");
    const config = load([`--config=${file}`, "--log-level=debug"], { KOG_SECURE_PORT: "8443" });
    assert.deepEqual(config.effective["log-level"], { value: "debug", source: "flag" });
    assert.deepEqual(config.effective["secure-port"], { value: 8443, source: "env", variable: "KOG_SECURE_PORT" });
    assert.deepEqual(config.effective["health-port"], { value: 9090, source: "config-file" });
    assert.deepEqual(config.effective["bind-address"], { value: "0.0.0.0", source: "default" });
    assert.deepEqual(config.effective["tls-cert-file"], { value: "/tls/crt", source: "flag" });
    assert.deepEqual(config.effective.config, { value: file, source: "flag" });
    // Durations as they are written (Go's form), not as milliseconds.
    assert.deepEqual(config.effective["token-cache-ttl"], { value: "10s", source: "default" });
    assert.deepEqual(load(["--shutdown-grace-period=90s"]).effective["shutdown-grace-period"], {
      value: "90s",
      source: "flag",
    });
  });

  it("redacts secrets in the effective settings: --token and the Redis URL", () => {
    const dir = mkdtempSync(join(tmpdir(), "kog-redact-"));
    const cookieSecret = join(dir, "cookie");
    writeFileSync(cookieSecret, "the-cookie-secret-that-is-long-enough-32\n");
    const config = load([
      "--token=upstream-secret-token",
      "--session-client-id=dash",
      "--session-issuer-url=https://issuer.example.com/realms/kube",
      "--session-external-url=https://dash.example.com",
      `--session-cookie-secret-file=${cookieSecret}`,
      "--session-store=redis",
      "--session-redis-url=redis://gateway:hunter2hunter2@redis:6379/0",
    ]);
    const text = JSON.stringify(config.effective);
    assert.equal(config.effective.token?.value, "<redacted>");
    // --dashboard-token names which token (id or access), not a token.
    assert.equal(config.effective["dashboard-token"]?.value, "id");
    // docs/security.md: the Redis URL is never logged (it may carry a password).
    assert.deepEqual(config.effective["session-redis-url"], { value: "<redacted>", source: "flag" });
    assert.doesNotMatch(text, /upstream-secret-token|hunter2|the-cookie-secret/);
    assert.equal(config.effective["session-cookie-secret-file"]?.value, cookieSecret);
  });

  it("keeps --api-port off by default and takes a port of its own", () => {
    assert.equal(load([]).serving.apiPort, 0);
    assert.equal(load(["--secure-port=8443", "--api-port=8444"]).serving.apiPort, 8444);
  });

  it("names --authentication-config and its path when the file is not there", () => {
    assert.throws(
      () =>
        loadServeConfig(
          ["--authentication-config=/nonexistent/auth.yaml", "--tls-cert-file=a", "--tls-private-key-file=b"],
          {},
        ),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.code === "AUTHENTICATION_CONFIG_UNREADABLE" &&
        error.message === "--authentication-config: /nonexistent/auth.yaml: no such file",
    );
  });

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

describe("kube-oidc-proxy's flags in the serve configuration", () => {
  const loadOnly = (args: string[]) => {
    const { config } = loadServeConfig(args, {});
    assert.ok(config);
    return config;
  };
  const oidc = ["--oidc-issuer-url", issuer, "--oidc-client-id=kubernetes"];

  it("fills the serving TLS fields: Go's version and suite names, SNI pairs (NamedCertKey's syntax), the HTTP/2 limit", () => {
    const config = load([
      "--tls-min-version=VersionTLS13",
      "--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
      "--tls-sni-cert-key=foo.crt,foo.key:*.foo.com,foo.com",
      "--tls-sni-cert-key",
      "bar.crt,bar.key",
      "--http2-max-streams-per-connection=250",
    ]);
    assert.equal(config.serving.tlsMinVersion, "VersionTLS13");
    assert.deepEqual(config.serving.tlsCipherSuites, [
      "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    ]);
    assert.deepEqual(config.serving.sniCertKeys, [
      { certFile: "foo.crt", keyFile: "foo.key", names: ["*.foo.com", "foo.com"] },
      { certFile: "bar.crt", keyFile: "bar.key", names: [] },
    ]);
    assert.equal(config.serving.http2MaxStreamsPerConnection, 250);
    assert.equal(config.serving.certDir, "", "no cert dir when a certificate is given");
    const plain = load([]);
    assert.equal(plain.serving.tlsMinVersion, undefined);
    assert.deepEqual(plain.serving.tlsCipherSuites, []);
    assert.equal(plain.serving.http2MaxStreamsPerConnection, 0);
  });

  it("refuses unknown Go cipher suite and version names with a did-you-mean, and the suites Node lacks", () => {
    assert.throws(() => load(["--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265"]), {
      code: "INVALID_FLAG_VALUE",
      message: /not supported or doesn't exist \(did you mean TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\?\)/,
    });
    assert.throws(() => load(["--tls-cipher-suites=TLS_RSA_WITH_RC4_128_SHA"]), { message: /RC4 or 3DES/ });
    assert.throws(() => load(["--tls-min-version=VersionTLS1.2"]), {
      code: "INVALID_FLAG_VALUE",
      message: /did you mean VersionTLS12\?/,
    });
    assert.throws(() => load(["--tls-sni-cert-key=only.crt"]), { message: /certfile,keyfile/ });
  });

  it("takes --cert-dir in place of a certificate, and a certificate only with its key", () => {
    const config = loadOnly([...oidc, "--cert-dir=/var/run/kubernetes"]);
    assert.equal(config.serving.certDir, "/var/run/kubernetes");
    assert.equal(config.serving.tlsCertFile, "");
    assert.throws(() => loadOnly([...oidc, "--cert-dir=/x", "--tls-cert-file=/a.crt"]), {
      message: /--tls-private-key-file is missing/,
    });
  });

  it("fills the proxy group: extra user headers as kube-oidc-proxy's StringToStringSlice, client IP, flush interval", () => {
    const config = load([
      "--disable-impersonation",
      "--extra-user-header-client-ip=true",
      "--extra-user-headers=team=a,team=b",
      "--extra-user-headers=env=prod",
      "--flush-interval=100ms",
    ]);
    assert.deepEqual(config.proxy, {
      disableImpersonation: true,
      extraUserHeaderClientIp: true,
      extraUserHeaders: { team: ["a", "b"], env: ["prod"] },
      flushIntervalMs: 100,
    });
    assert.deepEqual(load([]).proxy, {
      disableImpersonation: false,
      extraUserHeaderClientIp: false,
      extraUserHeaders: {},
      flushIntervalMs: 50,
    });
    assert.throws(() => load(["--extra-user-headers=a=b=c"]), { message: /must be formatted as key=value/ });
    assert.equal(load(["--flush-interval=-1ms"]).proxy.flushIntervalMs, -1, "negative: flush after each write");
    assert.equal(load(["--flush-interval=0"]).proxy.flushIntervalMs, 0);
    assert.throws(() => load(["--flush-interval=soon"]), { message: /--flush-interval: invalid duration/ });
    assert.equal(load(["--require-impersonation-rights"]).impersonationCheck.refuseStartWithoutRights, true);
    assert.equal(load([]).impersonationCheck.refuseStartWithoutRights, false);
  });

  it("maps klog's -v onto the log level unless --log-level is given, and accepts pflag's short forms", () => {
    assert.equal(load(["-v=4"]).logLevel, "debug");
    assert.equal(load(["--v", "2"]).logLevel, "info");
    assert.equal(load(["-v3"]).logLevel, "debug");
    assert.equal(load(["-v=4", "--log-level=warn"]).logLevel, "warn");
    assert.equal(load(["-P", "9091"]).serving.healthPort, 9091);
    assert.equal(load(["-s=https://k8s.example.com:6443"]).upstream.client.server, "https://k8s.example.com:6443");
  });

  it("lists the klog and serving flags that mean nothing here, for serve to log, and only those set", () => {
    const config = load(["--logtostderr=true", "--log_dir=/tmp", "--vmodule=proxy=4", "--permit-port-sharing"]);
    assert.deepEqual(
      config.ignoredFlags.map((f) => f.flag),
      ["permit-port-sharing", "vmodule", "logtostderr", "log-dir"],
    );
    assert.ok(config.ignoredFlags.every((f) => f.reason.length > 20));
    assert.deepEqual(load([]).ignoredFlags, []);
  });

  it("fills the upstream client flags; --request-timeout replaces --upstream-timeout unless 0", () => {
    const config = load([
      "--server=https://k8s:6443",
      "--token=abc",
      "--certificate-authority=/ca.crt",
      "--context=ctx",
      "--cluster=c",
      "--user=u",
      "--tls-server-name=kubernetes",
      "--request-timeout=5s",
    ]);
    assert.equal(config.upstream.client.server, "https://k8s:6443");
    assert.equal(config.upstream.client.token, "abc");
    assert.equal(config.upstream.client.tlsServerName, "kubernetes");
    assert.equal(config.upstream.responseTimeoutMs, 5000);
    assert.equal(load(["--request-timeout=7"]).upstream.responseTimeoutMs, 7000);
    assert.equal(load(["--request-timeout=0"]).upstream.responseTimeoutMs, 60_000);
  });

  it("refuses --insecure-skip-tls-verify, saying why", () => {
    assert.throws(() => load(["--insecure-skip-tls-verify"]), { code: "INSECURE_UPSTREAM_REFUSED" });
    assert.equal(load(["--insecure-skip-tls-verify=false"]).serving.securePort, 443);
  });

  it("reports --version instead of validating", () => {
    assert.deepEqual(loadServeConfig(["--version"], {}), { help: false, version: true });
    assert.throws(() => load([], { KOG_VERSION: "true" }), { message: /version is a command-line flag/ });
  });

  describe("the Redis session store's topology, TLS and credentials", () => {
    const dir = mkdtempSync(join(tmpdir(), "kog-redis-flags-"));
    const caFile = join(dir, "ca.crt");
    writeFileSync(caFile, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    const passwordFile = join(dir, "password");
    writeFileSync(passwordFile, "store-password\n");
    const sentinelPasswordFile = join(dir, "sentinel-password");
    writeFileSync(sentinelPasswordFile, "sentinel-password");
    const redis = (values: Record<string, string | string[]>) =>
      loadSessionRedis({ "session-store": "redis", ...values });
    const refused = (values: Record<string, string | string[]>, code: string, message: RegExp) =>
      assert.throws(
        () => redis(values),
        (error: unknown) => error instanceof ConfigError && error.code === code && message.test(error.message),
      );

    it("reads a standalone rediss:// URL, the CA file once, the ACL user and the password file (trailing newline dropped) through serve's flags", () => {
      const secret = join(dir, "cookie");
      writeFileSync(secret, "the-cookie-secret-that-is-long-enough-32\n");
      const config = load([
        "--session-client-id=dash",
        "--session-issuer-url=https://issuer.example.com/realms/kube",
        "--session-external-url=https://dash.example.com",
        `--session-cookie-secret-file=${secret}`,
        "--session-store=redis",
        "--session-redis-url=rediss://redis.example.com:6380",
        `--session-redis-ca-file=${caFile}`,
        "--session-redis-username=kog",
        `--session-redis-password-file=${passwordFile}`,
      ]);
      assert.deepEqual(redisConnectionOf(config), {
        topology: { kind: "standalone", url: "rediss://redis.example.com:6380" },
        tls: true,
        ca: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        username: "kog",
        password: "store-password",
      });
      assert.ok(Object.isFrozen(redisConnectionOf(config)));
      assert.doesNotMatch(JSON.stringify(config.effective), /store-password/);
    });

    it("reads sentinels (host:port or redis:// URLs), the master's name and the sentinels' own credentials apart from the data nodes'", () => {
      assert.deepEqual(
        redis({
          "session-redis-sentinel-connection-urls": ["sentinel-0:26379", "redis://sentinel-1:26379", "[::1]:26379"],
          "session-redis-sentinel-master-name": "mymaster",
          "session-redis-sentinel-username": "watcher",
          "session-redis-sentinel-password-file": sentinelPasswordFile,
          "session-redis-password-file": passwordFile,
        }),
        {
          topology: {
            kind: "sentinel",
            masterName: "mymaster",
            sentinels: [
              { host: "sentinel-0", port: 26379 },
              { host: "sentinel-1", port: 26379 },
              { host: "::1", port: 26379 },
            ],
            sentinelUsername: "watcher",
            sentinelPassword: "sentinel-password",
          },
          tls: false,
          password: "store-password",
        },
      );
    });

    it("reads cluster nodes; rediss:// or a CA file turns TLS on", () => {
      assert.deepEqual(
        redis({ "session-redis-cluster-connection-urls": ["rediss://node-0:6379", "rediss://node-1:6379"] }),
        {
          topology: {
            kind: "cluster",
            nodes: [
              { host: "node-0", port: 6379 },
              { host: "node-1", port: 6379 },
            ],
          },
          tls: true,
        },
      );
      assert.equal(
        redis({ "session-redis-cluster-connection-urls": ["node-0:6379"], "session-redis-ca-file": caFile })?.tls,
        true,
      );
    });

    it("refuses conflicting modes, a sentinel list without the master's name, and sentinel flags without sentinels", () => {
      refused(
        { "session-redis-url": "redis://r:6379", "session-redis-cluster-connection-urls": ["n:6379"] },
        "CONFLICTING_FLAGS",
        /--session-redis-url and --session-redis-cluster-connection-urls exclude each other/,
      );
      refused(
        { "session-redis-sentinel-connection-urls": ["s:26379"], "session-redis-cluster-connection-urls": ["n:6379"] },
        "CONFLICTING_FLAGS",
        /exclude each other/,
      );
      refused(
        { "session-redis-sentinel-connection-urls": ["s:26379"] },
        "MISSING_REQUIRED_FLAG",
        /needs --session-redis-sentinel-master-name/,
      );
      refused(
        { "session-redis-url": "redis://r:6379", "session-redis-sentinel-master-name": "m" },
        "INVALID_FLAG_VALUE",
        /--session-redis-sentinel-master-name needs --session-redis-sentinel-connection-urls/,
      );
      assert.throws(() => loadSessionRedis({ "session-store": "memory", "session-redis-ca-file": caFile }), {
        message: "--session-redis-ca-file needs --session-store=redis",
      });
    });

    it("refuses a CA with plain redis://, mixed schemes, credentials in node URLs (without echoing them) and a URL user next to the user flags", () => {
      refused(
        { "session-redis-url": "redis://r:6379", "session-redis-ca-file": caFile },
        "CONFLICTING_FLAGS",
        /use rediss:\/\//,
      );
      refused(
        { "session-redis-cluster-connection-urls": ["redis://a:1", "rediss://b:2"] },
        "INVALID_FLAG_VALUE",
        /mixes redis:\/\/ and rediss:\/\//,
      );
      assert.throws(
        () => redis({ "session-redis-cluster-connection-urls": ["redis://u:hunter2hunter2@a:1"] }),
        (error: unknown) =>
          error instanceof ConfigError &&
          /credentials in these URLs are refused/.test(error.message) &&
          !/hunter2/.test(error.message),
      );
      // Review of issue 20: a password holding '#', '/' or '?' breaks URL parsing, and the
      // "not host:port" and "expected redis://" errors quoted the whole value, password included.
      for (const text of [
        "redis://user:s3cr#tpass@host:6379",
        "redis://:pa/sspass@host:6379",
        "http://u:se?cretpass@h:1",
      ]) {
        assert.throws(
          () => redis({ "session-redis-cluster-connection-urls": [text] }),
          (error: unknown) =>
            error instanceof ConfigError &&
            /<redacted>@/.test(error.message) &&
            !/s3cr|sspass|cretpass/.test(error.message),
          text,
        );
      }
      refused(
        { "session-redis-url": "redis://u:p@r:6379", "session-redis-password-file": passwordFile },
        "CONFLICTING_FLAGS",
        /keep one/,
      );
      refused(
        { "session-redis-cluster-connection-urls": ["http://a:1"] },
        "INVALID_FLAG_VALUE",
        /expected redis:\/\/, rediss:\/\/ or host:port/,
      );
      refused({ "session-redis-cluster-connection-urls": ["a"] }, "INVALID_FLAG_VALUE", /expected a host and a port/);
    });

    it("names the flag of a CA or password file it cannot read", () => {
      refused(
        { "session-redis-url": "rediss://r:6379", "session-redis-ca-file": join(dir, "missing.crt") },
        "REDIS_CA_UNREADABLE",
        /^--session-redis-ca-file: .*missing\.crt: no such file$/,
      );
      refused(
        { "session-redis-url": "redis://r:6379", "session-redis-password-file": dir },
        "SECRET_FILE_UNREADABLE",
        /^--session-redis-password-file: .*: a directory, not a file$/,
      );
    });
  });
});
