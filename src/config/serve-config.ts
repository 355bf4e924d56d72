// `serve`'s configuration: flags, environment and config file merged (flags win, then
// environment, then the file, then defaults), validated once into one frozen object that the
// rest of the program receives and never re-reads.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { trustedProxyList } from "../apiserver/source-ips.ts";
import type { AuditConfig } from "../audit/types.ts";
import type { JwtAuthenticatorConfig } from "../authn/jwt-config.ts";
import type { RedisNode, RedisStoreOptions } from "../session/redis-store.ts";
import { auditConfig } from "./audit-config.ts";
import { parseAuthenticationConfiguration } from "./authentication-config.ts";
import { ConfigError, unreadableFile } from "./errors.ts";
import {
  envName,
  type FlagValue,
  type FlagValues,
  parseDuration,
  parseFlags,
  valuesFromEnv,
  valuesFromFile,
} from "./flags.ts";
import { goCipherSuites, goSuitesNodeLacks, goTls13Suites, goTlsVersions } from "./go-tls-names.ts";
import { parseYaml } from "./lazy-libraries.ts";
import { jwtAuthenticatorFromFlags } from "./oidc-flags.ts";
import { serveFlags } from "./serve-flags.ts";
import { loadSessionConfig, type SessionConfig } from "./session-config.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "json" | "text";

/** Where a setting's value came from, as the start-up line reports it. */
export type SettingSource = "flag" | "env" | "config-file" | "default";

/** One setting as the gateway runs with it: secrets are replaced, file settings are their paths. */
export interface EffectiveSetting {
  readonly value: FlagValue;
  readonly source: SettingSource;
  /** For "env": the variable's name. */
  readonly variable?: string;
}

export interface ServeConfig {
  readonly authentication: {
    readonly jwt: readonly JwtAuthenticatorConfig[];
    /** Set when the JWT authenticators come from --authentication-config (watched for changes). */
    readonly configFile?: string;
    /** That file's text as loaded, so a reload can tell whether it changed. */
    readonly configText?: string;
    readonly allowSystemIdentities: boolean;
    readonly tokenCacheTtlMs: number;
    /** Whether clients' Impersonate-* headers are honoured after SubjectAccessReviews. */
    readonly nestedImpersonation: boolean;
    /** Set when tokens no issuer claims may pass through after a TokenReview. */
    readonly passthrough?: { readonly audiences: readonly string[] };
  };
  readonly serving: {
    readonly bindAddress: string;
    readonly securePort: number;
    /** --api-port: the API alone to bearer tokens on a second HTTPS port; 0: off. */
    readonly apiPort: number;
    readonly tlsCertFile: string;
    readonly tlsKeyFile: string;
    readonly healthBindAddress: string;
    /** 0: no health listener. */
    readonly healthPort: number;
    /** --trusted-proxies as given: addresses and CIDR ranges (valid, checked here). */
    readonly trustedProxies: readonly string[];
    readonly maxHeaderBytes: number;
    /** Go's name: "VersionTLS10" | "VersionTLS11" | "VersionTLS12" | "VersionTLS13"; undefined: the default (1.2). */
    readonly tlsMinVersion: string | undefined;
    /** Go's names, e.g. "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"; []: the default. */
    readonly tlsCipherSuites: readonly string[];
    /** Where self-signed serving certificates are written when there is no --tls-cert-file ("" when that is given). */
    readonly certDir: string;
    readonly sniCertKeys: readonly { certFile: string; keyFile: string; names: readonly string[] }[];
    /** 0: the gateway's default (100). */
    readonly http2MaxStreamsPerConnection: number;
  };
  /** kube-oidc-proxy's proxy flags. */
  readonly proxy: {
    /** Forward the client's token as is, no Impersonate-* (kube-oidc-proxy --disable-impersonation). */
    readonly disableImpersonation: boolean;
    /** Add the client's IP as the extra "remote-client-ip" (kube-oidc-proxy --extra-user-header-client-ip). */
    readonly extraUserHeaderClientIp: boolean;
    /** Extra key → values added to every user (kube-oidc-proxy --extra-user-headers). */
    readonly extraUserHeaders: Readonly<Record<string, readonly string[]>>;
    /** kube-oidc-proxy --flush-interval (httputil.ReverseProxy.FlushInterval): 0 no periodic flush, negative after each write. */
    readonly flushIntervalMs: number;
  };
  readonly impersonationCheck: {
    /** --require-impersonation-rights: refuse to start when an impersonation right is missing. */
    readonly refuseStartWithoutRights: boolean;
  };
  /** kube-apiserver's --audit-* flags: policy, log and webhook backends. */
  readonly audit: AuditConfig;
  /**
   * Flags that were set and mean nothing here, with why: `serve` logs one line for each at start.
   */
  readonly ignoredFlags: readonly { readonly flag: string; readonly reason: string }[];
  readonly upstream: {
    /** Empty: in-cluster. */
    readonly kubeconfig: string;
    readonly extraCaFile: string;
    readonly responseTimeoutMs: number;
    /** kubectl's client flags (--server, --token, --context, …), applied over the kubeconfig or in-cluster. */
    readonly client: UpstreamClientFlags;
    /** Which requests go as HTTP/2 streams over shared connections (HTTP/1.1 when the server has no h2). */
    readonly http2: UpstreamHttp2;
  };
  /** Present when browser sessions are on (--session-client-id). */
  readonly session?: SessionConfig;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  /** The access log: one line per request; undefined when off. */
  readonly accessLog?: {
    /** The share of successful requests written (refusals and failures always are). */
    readonly sampleRate: number;
  };
  /**
   * Every setting with a value (set or defaulted), redacted, with where it came from: what the
   * start-up line reports. Flags that mean nothing here are not listed (ignoredFlags names them).
   */
  readonly effective: Readonly<Record<string, EffectiveSetting>>;
  readonly shutdownGracePeriodMs: number;
  /** Processes serving the secure port (--workers, 0 resolved to the CPUs available). */
  readonly workers: number;
}

/** kubectl's client flags as kube-oidc-proxy registers them (genericclioptions.ConfigFlags). */
export interface UpstreamClientFlags {
  readonly server?: string;
  readonly token?: string;
  readonly certificateAuthority?: string;
  readonly clientCertificate?: string;
  readonly clientKey?: string;
  readonly context?: string;
  readonly cluster?: string;
  readonly user?: string;
  readonly tlsServerName?: string;
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(
        (row[j] ?? 0) + 1,
        (next[j - 1] ?? 0) + 1,
        (row[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    row = next;
  }
  return row[b.length] ?? 0;
}

function closest(name: string, candidates: readonly string[]): string {
  let best = "";
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = distance(name.toUpperCase(), candidate.toUpperCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(3, name.length / 3) ? ` (did you mean ${best}?)` : "";
}

function tlsMinVersion(value: string | undefined): string | undefined {
  if (value === undefined || value === "") return undefined;
  if ((goTlsVersions as readonly string[]).includes(value)) return value;
  throw new ConfigError(
    "INVALID_FLAG_VALUE",
    `--tls-min-version: unknown tls version ${JSON.stringify(value)}${closest(value, goTlsVersions)}; expected one of ${goTlsVersions.join(", ")}`,
  );
}

function tlsCipherSuites(names: readonly string[]): string[] {
  for (const name of names) {
    if (!(name in goCipherSuites) && !goTls13Suites.has(name)) {
      throw new ConfigError(
        "INVALID_FLAG_VALUE",
        `--tls-cipher-suites: cipher suite ${name} not supported or doesn't exist${closest(name, [...Object.keys(goCipherSuites), ...goTls13Suites])}`,
      );
    }
    if (goSuitesNodeLacks.has(name)) {
      throw new ConfigError(
        "INVALID_FLAG_VALUE",
        `--tls-cipher-suites: ${name} is an RC4 or 3DES suite, which Node's OpenSSL does not have (and Go marks insecure)`,
      );
    }
  }
  return [...names];
}

// k8s.io/component-base v0.18.0 cli/flag/namedcertkey_flag.go (NamedCertKey.Set):
// "certfile,keyfile[:name1,name2,…]", names trimmed of spaces.
function sniCertKeys(values: readonly string[]): ServeConfig["serving"]["sniCertKeys"] {
  return values.map((value) => {
    const colon = value.indexOf(":");
    const files = (colon === -1 ? value : value.slice(0, colon)).split(",");
    const names =
      colon === -1
        ? []
        : value
            .slice(colon + 1)
            .split(",")
            .map((n) => n.trim())
            .filter((n) => n !== "");
    const [certFile, keyFile] = files.map((f) => f.trim());
    if (files.length !== 2 || !certFile || !keyFile) {
      throw new ConfigError(
        "INVALID_FLAG_VALUE",
        `--tls-sni-cert-key: expected certfile,keyfile[:name1,name2], got ${JSON.stringify(value)}`,
      );
    }
    return { certFile, keyFile, names };
  });
}

// kube-oidc-proxy v0.3.0 pkg/util/flags/string_to_string_slice.go (Set): "k=v,k=v2" → {k: [v, v2]};
// each pair must split on "=" into exactly two parts. An empty key, which Go lets through, is
// refused: no header Impersonate-Extra- can carry it.
function extraUserHeaders(pairs: readonly string[]): Record<string, string[]> {
  const headers: Record<string, string[]> = {};
  for (const pair of pairs) {
    const kv = pair.split("=");
    const [key, value] = kv;
    if (kv.length !== 2 || !key || value === undefined) {
      throw new ConfigError("INVALID_FLAG_VALUE", `--extra-user-headers: ${pair} must be formatted as key=value`);
    }
    if (!Object.hasOwn(headers, key)) headers[key] = [];
    headers[key]?.push(value);
  }
  return headers;
}

// kube-oidc-proxy's --flush-interval is httputil.ReverseProxy's FlushInterval: a negative value
// flushes after each write (net/http/httputil/reverseproxy.go), which parseDuration alone refuses.
function flushInterval(text: string): number {
  try {
    return text.startsWith("-") ? -parseDuration(text.slice(1)) : parseDuration(text);
  } catch (error) {
    throw new ConfigError("INVALID_FLAG_VALUE", `--flush-interval: ${(error as Error).message}`);
  }
}

/** kubectl's --request-timeout: a Go duration, or a bare number of seconds; "0": none. */
function requestTimeout(text: string): number {
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  try {
    return parseDuration(text);
  } catch (error) {
    throw new ConfigError("INVALID_FLAG_VALUE", `--request-timeout: ${(error as Error).message}`);
  }
}

/** Ignored flags that were set. */
function flagNotes(explicit: FlagValues): { flag: string; reason: string }[] {
  const ignored: { flag: string; reason: string }[] = [];
  for (const spec of serveFlags) {
    const value = explicit[spec.name];
    if (value === undefined) continue;
    if (spec.ignored) ignored.push({ flag: spec.name, reason: spec.ignored });
  }
  return ignored;
}

function defaults(): Record<string, FlagValue> {
  const values: Record<string, FlagValue> = {};
  for (const spec of serveFlags) {
    if (spec.default === undefined) continue;
    values[spec.name] = spec.type === "duration" ? parseDuration(String(spec.default)) : (spec.default as FlagValue);
  }
  return values;
}

function readConfigFile(path: string): Record<string, FlagValue> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw unreadableFile("CONFIG_FILE_UNREADABLE", "--config", path, error);
  }
  let object: unknown;
  try {
    object = parseYaml(text);
  } catch (error) {
    throw new ConfigError("INVALID_CONFIG_FILE", `${path}: ${(error as Error).message}`);
  }
  return valuesFromFile(serveFlags, object, path);
}

const port = (values: FlagValues, name: string, allowZero = false): number => {
  const value = values[name] as number;
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1) || value > 65535) {
    throw new ConfigError("INVALID_FLAG_VALUE", `--${name}: not a port: ${value}`);
  }
  return value;
};

/** --api-port: off (0) or a port of its own, not the secure or health port's. */
const apiPort = (values: FlagValues): number => {
  const value = port(values, "api-port", true);
  if (value === 0) return 0;
  for (const other of ["secure-port", "health-port"]) {
    if (values[other] === value)
      throw new ConfigError(
        "INVALID_FLAG_VALUE",
        `--api-port: ${value} is already --${other}; give the API its own port`,
      );
  }
  return value;
};

const positive = (values: FlagValues, name: string): number => {
  const value = values[name] as number;
  if (!Number.isInteger(value) || value < 1024)
    throw new ConfigError("INVALID_FLAG_VALUE", `--${name}: must be at least 1024, got ${value}`);
  return value;
};

export type UpstreamHttp2 = "watches" | "all" | "off";

function upstreamHttp2(value: string): UpstreamHttp2 {
  if (value === "watches" || value === "all" || value === "off") return value;
  throw new ConfigError("INVALID_FLAG_VALUE", `--upstream-http2: expected watches, all or off, got ${value}`);
}

/**
 * Settings whose values are secrets: the start-up line says they are set and where from, never
 * what they are. kubectl's --token is the one secret a flag holds; a Redis URL may carry a
 * password, and docs/security.md promises the URL is never logged. The other secrets are files:
 * their paths are shown, never their contents.
 */
const secretSettings = new Set(["token", "session-redis-url"]);

/** Milliseconds as a Go duration in the largest whole unit (90000 → "90s", 3600000 → "1h"). */
function durationText(ms: number): string {
  for (const [unit, size] of [
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1_000],
  ] as const) {
    if (ms !== 0 && ms % size === 0) return `${ms / size}${unit}`;
  }
  return ms === 0 ? "0s" : `${ms}ms`;
}

/** A setting's value as the start-up line may show it. */
function redacted(name: string, value: FlagValue): FlagValue {
  return secretSettings.has(name) && value !== "" ? "<redacted>" : value;
}

function effectiveSettings(
  values: FlagValues,
  sources: { readonly file: FlagValues; readonly env: FlagValues; readonly flags: FlagValues },
): Record<string, EffectiveSetting> {
  const effective: Record<string, EffectiveSetting> = {};
  for (const spec of serveFlags) {
    const value = values[spec.name];
    if (value === undefined || spec.ignored || spec.name === "version") continue;
    const source: SettingSource =
      sources.flags[spec.name] !== undefined
        ? "flag"
        : sources.env[spec.name] !== undefined
          ? "env"
          : sources.file[spec.name] !== undefined
            ? "config-file"
            : "default";
    effective[spec.name] = {
      value: spec.type === "duration" && typeof value === "number" ? durationText(value) : redacted(spec.name, value),
      source,
      ...(source === "env" ? { variable: envName(spec.name) } : {}),
    };
  }
  return effective;
}

/** Builds the validated configuration; `help` is true when --help was asked for. */
export function loadServeConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  profileDefaults: Readonly<Record<string, FlagValue>> = {},
): { config?: ServeConfig; help: boolean; version?: boolean } {
  const parsed = parseFlags(serveFlags, argv);
  if (parsed.help) return { help: true };
  if (parsed.values.version === true) return { help: false, version: true };
  if (parsed.positionals.length > 0) {
    throw new ConfigError(
      "UNEXPECTED_ARGUMENT",
      `serve takes no arguments, got ${JSON.stringify(parsed.positionals[0])}`,
    );
  }
  const fromEnv = valuesFromEnv(serveFlags, env);
  const configPath = (parsed.values.config ?? fromEnv.config) as string | undefined;
  const fromFile = configPath ? readConfigFile(configPath) : {};
  const explicit: FlagValues = { ...fromFile, ...fromEnv, ...parsed.values };
  if (explicit.version !== undefined && parsed.values.version === undefined) {
    throw new ConfigError(
      "INVALID_CONFIG_FILE",
      "version is a command-line flag (--version prints the version and exits), not a setting of the file or environment",
    );
  }
  const values: FlagValues = { ...defaults(), ...profileDefaults, ...explicit };
  const ignoredFlags = flagNotes(explicit);

  // klog's -v, when --log-level is not given: kube-oidc-proxy logs each request at V(3) and more.
  const verbosity = explicit.v as number | undefined;
  const logLevel =
    explicit["log-level"] === undefined && verbosity !== undefined
      ? verbosity >= 3
        ? "debug"
        : "info"
      : (values["log-level"] as string);
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    throw new ConfigError("INVALID_FLAG_VALUE", `--log-level: expected debug, info, warn or error, got ${logLevel}`);
  }
  const trustedProxies = (values["trusted-proxies"] as string[] | undefined) ?? [];
  trustedProxyList(trustedProxies);
  const logFormat = values["log-format"] as string;
  if (logFormat !== "json" && logFormat !== "text") {
    throw new ConfigError(
      "INVALID_FLAG_VALUE",
      `--log-format: expected json or text, got ${JSON.stringify(logFormat)}`,
    );
  }
  const sampleText = values["access-log-sample-rate"] as string;
  const sampleRate = /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(sampleText) ? Number(sampleText) : Number.NaN;
  if (!(sampleRate >= 0 && sampleRate <= 1)) {
    throw new ConfigError(
      "INVALID_FLAG_VALUE",
      `--access-log-sample-rate: expected a number from 0 to 1 (e.g. 0.1 for one in ten), got ${JSON.stringify(sampleText)}`,
    );
  }

  const authentication = loadAuthentication(explicit, values);
  const workers = values.workers as number;
  if (!Number.isInteger(workers) || workers < 0 || workers > 64) {
    throw new ConfigError("INVALID_FLAG_VALUE", `--workers: expected 0 (one per CPU) to 64, got ${workers}`);
  }
  const sessionRedis = loadSessionRedis(values);
  const session = loadSessionConfig(values, explicit, authentication.jwt, sessionRedis);
  const processes = workers === 0 ? availableParallelism() : workers;
  if (session?.store.kind === "memory" && processes > 1) {
    throw new ConfigError(
      "INVALID_FLAG_VALUE",
      `--workers=${workers} runs ${processes} processes, and each would keep its own memory session store (a browser would be logged in on one and not on the next): use --session-store=redis`,
    );
  }
  if (values["insecure-skip-tls-verify"] === true) {
    throw new ConfigError(
      "INSECURE_UPSTREAM_REFUSED",
      "--insecure-skip-tls-verify is refused: the gateway's own credentials may impersonate anyone and must not go to an API server it has not verified; give --certificate-authority",
    );
  }
  const certFile = (values["tls-cert-file"] as string | undefined) ?? "";
  const keyFile = (values["tls-private-key-file"] as string | undefined) ?? "";
  const certDir = (values["cert-dir"] as string | undefined) ?? "";
  if (certFile === "" || keyFile === "") {
    if (certFile !== "" || keyFile !== "")
      throw new ConfigError(
        "INVALID_FLAG_VALUE",
        `--tls-cert-file and --tls-private-key-file go together: ${certFile ? "--tls-private-key-file" : "--tls-cert-file"} is missing`,
      );
    if (certDir === "")
      throw new ConfigError(
        "MISSING_REQUIRED_FLAG",
        "--tls-cert-file is required with --tls-private-key-file, or --cert-dir for a self-signed certificate (or their --config keys or environment variables)",
      );
  }
  const http2MaxStreams = values["http2-max-streams-per-connection"] as number;
  if (!Number.isInteger(http2MaxStreams) || http2MaxStreams < 0) {
    throw new ConfigError(
      "INVALID_FLAG_VALUE",
      `--http2-max-streams-per-connection: expected 0 (the default) or more, got ${http2MaxStreams}`,
    );
  }
  const requestTimeoutMs = requestTimeout(values["request-timeout"] as string);
  const text = (name: string) => {
    const value = values[name];
    return typeof value === "string" && value !== "" ? value : undefined;
  };
  const config: ServeConfig = {
    authentication: {
      ...authentication,
      allowSystemIdentities: values["allow-system-identities"] === true,
      nestedImpersonation: values["allow-nested-impersonation"] === true,
      passthrough:
        values["token-passthrough"] === true
          ? { audiences: (values["token-passthrough-audiences"] as string[] | undefined) ?? [] }
          : undefined,
      tokenCacheTtlMs: values["token-cache-ttl"] as number,
    },
    serving: {
      bindAddress: values["bind-address"] as string,
      securePort: port(values, "secure-port", true), // 0: the OS picks one (tests)
      apiPort: apiPort(values),
      tlsCertFile: certFile,
      tlsKeyFile: keyFile,
      healthBindAddress: values["health-bind-address"] as string,
      healthPort: port(values, "health-port", true),
      trustedProxies,
      maxHeaderBytes: positive(values, "max-header-bytes"),
      tlsMinVersion: tlsMinVersion(values["tls-min-version"] as string | undefined),
      tlsCipherSuites: tlsCipherSuites((values["tls-cipher-suites"] as string[] | undefined) ?? []),
      certDir: certFile === "" ? certDir : "",
      sniCertKeys: sniCertKeys((values["tls-sni-cert-key"] as string[] | undefined) ?? []),
      http2MaxStreamsPerConnection: http2MaxStreams,
    },
    proxy: {
      disableImpersonation: values["disable-impersonation"] === true,
      extraUserHeaderClientIp: values["extra-user-header-client-ip"] === true,
      extraUserHeaders: extraUserHeaders((values["extra-user-headers"] as string[] | undefined) ?? []),
      flushIntervalMs: flushInterval(values["flush-interval"] as string),
    },
    impersonationCheck: { refuseStartWithoutRights: values["require-impersonation-rights"] === true },
    audit: auditConfig(values),
    ignoredFlags,
    upstream: {
      kubeconfig: (values.kubeconfig as string | undefined) ?? "",
      extraCaFile: (values["upstream-ca-file"] as string | undefined) ?? "",
      responseTimeoutMs: requestTimeoutMs > 0 ? requestTimeoutMs : (values["upstream-timeout"] as number),
      client: {
        server: text("server"),
        token: text("token"),
        certificateAuthority: text("certificate-authority"),
        clientCertificate: text("client-certificate"),
        clientKey: text("client-key"),
        context: text("context"),
        cluster: text("cluster"),
        user: text("user"),
        tlsServerName: text("tls-server-name"),
      },
      http2: upstreamHttp2(values["upstream-http2"] as string),
    },
    session,
    logLevel: logLevel as LogLevel,
    logFormat,
    accessLog: values["access-log"] === true ? { sampleRate } : undefined,
    effective: effectiveSettings(values, { file: configPath ? fromFile : {}, env: fromEnv, flags: parsed.values }),
    shutdownGracePeriodMs: values["shutdown-grace-period"] as number,
    workers: processes,
  };
  return { config: deepFreeze(config), help: false };
}

/**
 * The JWT authenticators: from --authentication-config, or from the --oidc-* flags. `explicit`
 * holds only what the user set (the conflict check must not see defaults). `token` and `doctor`
 * load their configuration through this too.
 */
export function loadAuthentication(
  explicit: FlagValues,
  values: FlagValues,
): Pick<ServeConfig["authentication"], "jwt" | "configFile" | "configText"> {
  const file = explicit["authentication-config"] as string | undefined;
  if (!file) return { jwt: [jwtAuthenticatorFromFlags(values)] };
  // kube-apiserver's validateOIDCOptions: the two ways are mutually exclusive.
  const oidcFlag = Object.keys(explicit).find((name) => name.startsWith("oidc-"));
  if (oidcFlag) {
    throw new ConfigError(
      "AUTHENTICATION_CONFIG_CONFLICT",
      `--authentication-config and --${oidcFlag} are mutually exclusive: put the issuer in the file`,
    );
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw unreadableFile("AUTHENTICATION_CONFIG_UNREADABLE", "--authentication-config", file, error);
  }
  return { jwt: parseAuthenticationConfiguration(text, file), configFile: file, configText: text };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** The Redis store's connection settings; RedisStore.connect takes them as they are. */
export type SessionRedisConfig = Omit<RedisStoreOptions, "url" | "prefix" | "onError">;

const redisFlags = [
  "session-redis-url",
  "session-redis-sentinel-connection-urls",
  "session-redis-sentinel-master-name",
  "session-redis-sentinel-username",
  "session-redis-sentinel-password-file",
  "session-redis-cluster-connection-urls",
  "session-redis-ca-file",
  "session-redis-username",
  "session-redis-password-file",
] as const;

/** A file's contents for a setting, read once; an unreadable file names its flag. */
function settingFile(flag: string, path: string, code: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw unreadableFile(code, `--${flag}`, path, error);
  }
}

/**
 * A node list entry as error messages may quote it: whatever stands before its last `@` (a user
 * and password, which may hold `/`, `#` or `?` and so defeat URL parsing) replaced.
 */
function quotedNode(text: string): string {
  const at = text.lastIndexOf("@");
  if (at < 0) return JSON.stringify(text);
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)?.[0] ?? "";
  return JSON.stringify(`${scheme}<redacted>@${text.slice(at + 1)}`);
}

/** One node of a sentinel or cluster list: host:port, redis://host:port or rediss://host:port. */
function redisNode(flag: string, text: string): { node: RedisNode; tls: boolean | undefined } {
  const scheme = /^(rediss?):\/\//.exec(text)?.[1];
  if (!scheme && /^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw new ConfigError(
      "INVALID_FLAG_VALUE",
      `--${flag}: ${quotedNode(text)}: expected redis://, rediss:// or host:port`,
    );
  }
  let url: URL;
  try {
    url = new URL(scheme ? text : `redis://${text}`);
  } catch {
    throw new ConfigError("INVALID_FLAG_VALUE", `--${flag}: ${quotedNode(text)} is not host:port or a redis:// URL`);
  }
  if (url.username || url.password) {
    // Never echo the value: it holds a secret.
    throw new ConfigError(
      "INVALID_FLAG_VALUE",
      `--${flag}: credentials in these URLs are refused (they would show in the start-up line); use --session-redis-username and --session-redis-password-file (or --session-redis-sentinel-* for the sentinels)`,
    );
  }
  if (!url.port || (url.pathname !== "" && url.pathname !== "/") || url.search) {
    throw new ConfigError(
      "INVALID_FLAG_VALUE",
      `--${flag}: ${quotedNode(text)}: expected a host and a port, nothing else`,
    );
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return { node: { host, port: Number(url.port) }, tls: scheme ? scheme === "rediss" : undefined };
}

function redisNodes(flag: string, texts: readonly string[]): { nodes: RedisNode[]; tls: boolean | undefined } {
  const parsed = texts.map((text) => redisNode(flag, text));
  const schemes = new Set(parsed.map((p) => p.tls).filter((tls) => tls !== undefined));
  if (schemes.size > 1) {
    throw new ConfigError(
      "INVALID_FLAG_VALUE",
      `--${flag}: mixes redis:// and rediss://; every node is reached the same way`,
    );
  }
  return { nodes: parsed.map((p) => p.node), tls: [...schemes][0] };
}

/**
 * The Redis store's topology and credentials from the --session-redis-* flags: exactly one of
 * --session-redis-url (one server), --session-redis-sentinel-connection-urls (with the master's
 * name) and --session-redis-cluster-connection-urls; TLS from rediss:// or a CA file; the data
 * nodes' user and password (URL userinfo or the flags, not both) apart from the sentinels'.
 */
export function loadSessionRedis(values: FlagValues): SessionRedisConfig | undefined {
  const given = redisFlags.filter((flag) => {
    const value = values[flag];
    return Array.isArray(value) ? value.length > 0 : value !== undefined && value !== "";
  });
  if (values["session-store"] !== "redis") {
    const stray = given.filter((flag) => flag !== "session-redis-url");
    if (stray.length > 0) {
      throw new ConfigError("INVALID_FLAG_VALUE", `--${stray[0]} needs --session-store=redis`);
    }
    return undefined;
  }
  const modes = (
    ["session-redis-url", "session-redis-sentinel-connection-urls", "session-redis-cluster-connection-urls"] as const
  ).filter((flag) => given.includes(flag));
  if (modes.length > 1) {
    throw new ConfigError(
      "CONFLICTING_FLAGS",
      `--${modes[0]} and --${modes[1]} exclude each other: the store is one server (--session-redis-url), a Sentinel-watched master (--session-redis-sentinel-connection-urls) or a Cluster (--session-redis-cluster-connection-urls)`,
    );
  }
  const mode = modes[0];
  if (mode === undefined) return undefined; // --session-store=redis alone: the session settings say what is missing
  const sentinelOnly = given.filter(
    (flag) => flag.startsWith("session-redis-sentinel-") && flag !== "session-redis-sentinel-connection-urls",
  );
  if (mode !== "session-redis-sentinel-connection-urls" && sentinelOnly.length > 0) {
    throw new ConfigError("INVALID_FLAG_VALUE", `--${sentinelOnly[0]} needs --session-redis-sentinel-connection-urls`);
  }
  const caFile = values["session-redis-ca-file"] as string | undefined;
  const ca = caFile ? settingFile("session-redis-ca-file", caFile, "REDIS_CA_UNREADABLE") : undefined;
  const passwordFile = values["session-redis-password-file"] as string | undefined;
  let username = values["session-redis-username"] as string | undefined;
  let password = passwordFile
    ? settingFile("session-redis-password-file", passwordFile, "SECRET_FILE_UNREADABLE").replace(/\r?\n$/, "")
    : undefined;
  let topology: RedisStoreOptions["topology"];
  let tls: boolean | undefined;
  if (mode === "session-redis-url") {
    const text = values["session-redis-url"] as string;
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "redis:" && url.protocol !== "rediss:")) {
      throw new ConfigError("INVALID_FLAG_VALUE", "--session-redis-url: expected redis:// or rediss://");
    }
    if ((url.username || url.password) && (username || password)) {
      throw new ConfigError(
        "CONFLICTING_FLAGS",
        "--session-redis-url carries a user or password and --session-redis-username or --session-redis-password-file gives another: keep one",
      );
    }
    // The URL's userinfo stays in the URL, which @redis/client reads (lib/client/index.d.ts: redis[s]://[[username][:password]@]host…).
    topology = { kind: "standalone", url: text };
    tls = url.protocol === "rediss:";
  } else if (mode === "session-redis-sentinel-connection-urls") {
    const masterName = values["session-redis-sentinel-master-name"] as string | undefined;
    if (!masterName) {
      throw new ConfigError(
        "MISSING_REQUIRED_FLAG",
        "--session-redis-sentinel-connection-urls needs --session-redis-sentinel-master-name (the name in the sentinels' `sentinel monitor` line)",
      );
    }
    const { nodes, tls: schemeTls } = redisNodes(mode, values[mode] as string[]);
    const sentinelPasswordFile = values["session-redis-sentinel-password-file"] as string | undefined;
    const sentinelUsername = values["session-redis-sentinel-username"] as string | undefined;
    const sentinelPassword = sentinelPasswordFile
      ? settingFile("session-redis-sentinel-password-file", sentinelPasswordFile, "SECRET_FILE_UNREADABLE").replace(
          /\r?\n$/,
          "",
        )
      : undefined;
    topology = {
      kind: "sentinel",
      masterName,
      sentinels: nodes,
      ...(sentinelUsername ? { sentinelUsername } : {}),
      ...(sentinelPassword !== undefined ? { sentinelPassword } : {}),
    };
    tls = schemeTls;
  } else {
    const { nodes, tls: schemeTls } = redisNodes(mode, values[mode] as string[]);
    topology = { kind: "cluster", nodes };
    tls = schemeTls;
  }
  if (tls === false && ca !== undefined) {
    throw new ConfigError(
      "CONFLICTING_FLAGS",
      `--session-redis-ca-file turns TLS on, but --${mode} says redis:// (plain TCP): use rediss://`,
    );
  }
  if (username === "") username = undefined;
  if (password === "") password = undefined;
  return Object.freeze({
    topology: Object.freeze(topology),
    tls: tls === true || ca !== undefined,
    ...(ca !== undefined ? { ca } : {}),
    ...(username ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  });
}
