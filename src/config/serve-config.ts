// `serve`'s configuration: flags, environment and config file merged (flags win, then
// environment, then the file, then defaults), validated once into one frozen object that the
// rest of the program receives and never re-reads.
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { availableParallelism } from "node:os";
import { parse as parseYaml } from "yaml";
import type { JwtAuthenticatorConfig } from "../authn/jwt-config.ts";
import type { AuditLogRotation } from "../observability/audit-log.ts";
import { parseAuthenticationConfiguration } from "./authentication-config.ts";
import { ConfigError } from "./errors.ts";
import { type FlagValue, type FlagValues, parseDuration, parseFlags, valuesFromEnv, valuesFromFile } from "./flags.ts";
import { jwtAuthenticatorFromFlags } from "./oidc-flags.ts";
import { serveFlags } from "./serve-flags.ts";
import { loadSessionConfig, type SessionConfig } from "./session-config.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";

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
    readonly tlsCertFile: string;
    readonly tlsKeyFile: string;
    readonly healthBindAddress: string;
    /** 0: no health listener. */
    readonly healthPort: number;
    readonly trustedProxies: readonly string[];
    readonly maxHeaderBytes: number;
  };
  readonly upstream: {
    /** Empty: in-cluster. */
    readonly kubeconfig: string;
    readonly extraCaFile: string;
    readonly responseTimeoutMs: number;
    /** Which requests go as HTTP/2 streams over shared connections (HTTP/1.1 when the server has no h2). */
    readonly http2: UpstreamHttp2;
  };
  /** Present when browser sessions are on (--session-client-id). */
  readonly session?: SessionConfig;
  readonly logLevel: LogLevel;
  /** Empty: no audit log of the gateway's own refusals. */
  readonly auditLogPath: string;
  /** --audit-log-maxsize, --audit-log-maxbackup, --audit-log-maxage (kube-apiserver's meanings). */
  readonly auditLogRotation: AuditLogRotation;
  readonly shutdownGracePeriodMs: number;
  /** Processes serving the secure port (--workers, 0 resolved to the CPUs available). */
  readonly workers: number;
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
    throw new ConfigError("CONFIG_FILE_UNREADABLE", `--config: ${(error as Error).message}`);
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

const positive = (values: FlagValues, name: string): number => {
  const value = values[name] as number;
  if (!Number.isInteger(value) || value < 1024)
    throw new ConfigError("INVALID_FLAG_VALUE", `--${name}: must be at least 1024, got ${value}`);
  return value;
};

// kube-apiserver refuses these when negative (pkg/server/options/audit.go AuditLogOptions.Validate).
const notNegative = (values: FlagValues, name: string): number => {
  const value = values[name] as number;
  if (!Number.isInteger(value) || value < 0)
    throw new ConfigError("INVALID_FLAG_VALUE", `--${name} ${value} can't be a negative number`);
  return value;
};

const required = (values: FlagValues, name: string): string => {
  const value = values[name];
  if (typeof value !== "string" || value === "") {
    throw new ConfigError(
      "MISSING_REQUIRED_FLAG",
      `--${name} is required (or ${name} in --config, or its environment variable)`,
    );
  }
  return value;
};

export type UpstreamHttp2 = "watches" | "all" | "off";

function upstreamHttp2(value: string): UpstreamHttp2 {
  if (value === "watches" || value === "all" || value === "off") return value;
  throw new ConfigError("INVALID_FLAG_VALUE", `--upstream-http2: expected watches, all or off, got ${value}`);
}

/** Builds the validated configuration; `help` is true when --help was asked for. */
export function loadServeConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): { config?: ServeConfig; help: boolean } {
  const parsed = parseFlags(serveFlags, argv);
  if (parsed.help) return { help: true };
  if (parsed.positionals.length > 0) {
    throw new ConfigError(
      "UNEXPECTED_ARGUMENT",
      `serve takes no arguments, got ${JSON.stringify(parsed.positionals[0])}`,
    );
  }
  const fromEnv = valuesFromEnv(serveFlags, env);
  const configPath = (parsed.values.config ?? fromEnv.config) as string | undefined;
  const explicit: FlagValues = { ...(configPath ? readConfigFile(configPath) : {}), ...fromEnv, ...parsed.values };
  const values: FlagValues = { ...defaults(), ...explicit };

  const logLevel = values["log-level"] as string;
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    throw new ConfigError("INVALID_FLAG_VALUE", `--log-level: expected debug, info, warn or error, got ${logLevel}`);
  }
  const trustedProxies = (values["trusted-proxies"] as string[] | undefined) ?? [];
  for (const address of trustedProxies) {
    if (isIP(address) === 0)
      throw new ConfigError("INVALID_FLAG_VALUE", `--trusted-proxies: not an IP address: ${address}`);
  }

  const authentication = loadAuthentication(explicit, values);
  const workers = values.workers as number;
  if (!Number.isInteger(workers) || workers < 0 || workers > 64) {
    throw new ConfigError("INVALID_FLAG_VALUE", `--workers: expected 0 (one per CPU) to 64, got ${workers}`);
  }
  const session = loadSessionConfig(values, explicit, authentication.jwt);
  const processes = workers === 0 ? availableParallelism() : workers;
  if (session?.store.kind === "memory" && processes > 1) {
    throw new ConfigError(
      "INVALID_FLAG_VALUE",
      `--workers=${workers} runs ${processes} processes, and each would keep its own memory session store (a browser would be logged in on one and not on the next): use --session-store=redis`,
    );
  }
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
      tlsCertFile: required(values, "tls-cert-file"),
      tlsKeyFile: required(values, "tls-private-key-file"),
      healthBindAddress: values["health-bind-address"] as string,
      healthPort: port(values, "health-port", true),
      trustedProxies,
      maxHeaderBytes: positive(values, "max-header-bytes"),
    },
    upstream: {
      kubeconfig: (values.kubeconfig as string | undefined) ?? "",
      extraCaFile: (values["upstream-ca-file"] as string | undefined) ?? "",
      responseTimeoutMs: values["upstream-timeout"] as number,
      http2: upstreamHttp2(values["upstream-http2"] as string),
    },
    session,
    logLevel: logLevel as LogLevel,
    auditLogPath: (values["audit-log-path"] as string | undefined) ?? "",
    auditLogRotation: {
      maxSizeMb: notNegative(values, "audit-log-maxsize"),
      maxBackups: notNegative(values, "audit-log-maxbackup"),
      maxAgeDays: notNegative(values, "audit-log-maxage"),
    },
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
    throw new ConfigError("AUTHENTICATION_CONFIG_UNREADABLE", `--authentication-config: ${(error as Error).message}`);
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
