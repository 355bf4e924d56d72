// Browser sessions' settings (`--session-*`, `--dashboard-*`, `--whoami-page`), validated once.
// Secrets are read from files here, at start-up, so a missing or short one stops the gateway
// before it listens rather than at the first login.
import { readFileSync } from "node:fs";
import type { JwtAuthenticatorConfig } from "../authn/jwt-config.ts";
import { ConfigError, unreadableFile } from "./errors.ts";
import type { FlagValues } from "./flags.ts";
import type { SessionRedisConfig } from "./serve-config.ts";

export interface SessionConfig {
  readonly issuerUrl: string;
  /** PEM text; system roots when absent. */
  readonly issuerCa?: string;
  readonly clientId: string;
  /** Absent: a public client (PKCE only). */
  readonly clientSecret?: string;
  /** Origin and base path browsers use, without a trailing slash. */
  readonly externalUrl: string;
  readonly cookieName: string;
  /** The first seals; all open (rotation). At least 32 characters each. */
  readonly cookieSecrets: readonly string[];
  readonly scopes: readonly string[];
  readonly store: { readonly kind: "memory" } | { readonly kind: "redis"; readonly connection: SessionRedisConfig };
  readonly refreshAheadMs: number;
  readonly maxLifetimeMs: number;
  /** Where the API is served to sessions: "" (at /) without a dashboard, else e.g. "/k8s". */
  readonly apiPrefix: string;
  readonly dashboard?: { readonly url: string; readonly ca?: string; readonly token: "id" | "access" };
  readonly whoamiPage: boolean;
  readonly postLogoutPath: string;
}

const minimumSecretLength = 32;

function readSecretFile(flag: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw unreadableFile("SECRET_FILE_UNREADABLE", `--${flag}`, path, error);
  }
}

function httpsUrl(flag: string, text: string, allowHttp = false): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError("INVALID_FLAG_VALUE", `--${flag}: not a URL: ${JSON.stringify(text)}`);
  }
  if (url.protocol !== "https:" && !(allowHttp && url.protocol === "http:")) {
    throw new ConfigError("INVALID_FLAG_VALUE", `--${flag}: must be an ${allowHttp ? "http(s)" : "https"} URL`);
  }
  return url;
}

/** The session settings, or undefined when --session-client-id is not set (sessions off). */
export function loadSessionConfig(
  values: FlagValues,
  /** The settings the user gave (no defaults): a session setting without a client id is a mistake. */
  explicit: FlagValues,
  jwt: readonly JwtAuthenticatorConfig[],
  /** The Redis store's connection (serve-config.ts loadSessionRedis), with --session-store=redis. */
  redis?: SessionRedisConfig,
): SessionConfig | undefined {
  const clientId = values["session-client-id"] as string | undefined;
  if (!clientId) {
    const orphan = Object.keys(explicit).find(
      (name) => name.startsWith("session-") || name.startsWith("dashboard-") || name === "whoami-page",
    );
    if (orphan) {
      throw new ConfigError("SESSION_FLAG_WITHOUT_CLIENT", `--${orphan} needs --session-client-id (sessions are off)`);
    }
    return undefined;
  }

  const issuerUrl =
    (values["session-issuer-url"] as string | undefined) ??
    (jwt.length === 1 ? jwt[0]?.issuer.url : undefined) ??
    (() => {
      throw new ConfigError(
        "MISSING_REQUIRED_FLAG",
        "--session-issuer-url is required when --authentication-config names several issuers",
      );
    })();
  httpsUrl("session-issuer-url", issuerUrl);
  const matching = jwt.find((j) => j.issuer.url === issuerUrl);
  if (!matching) {
    throw new ConfigError(
      "SESSION_ISSUER_NOT_TRUSTED",
      `--session-issuer-url ${issuerUrl} is not one of the issuers the gateway authenticates; its id tokens ` +
        "would be refused: add it to --oidc-issuer-url or --authentication-config",
    );
  }
  // The client id need not be among the issuer's audiences: Keycloak adds the cluster's audience
  // with a mapper. The callback checks each new session's id token against the authenticator
  // and explains a refusal.
  const caFile = values["session-issuer-ca-file"] as string | undefined;
  const issuerCa = caFile ? readSecretFile("session-issuer-ca-file", caFile) : matching.issuer.certificateAuthority;

  const secretFile = values["session-client-secret-file"] as string | undefined;
  const clientSecret = secretFile ? readSecretFile("session-client-secret-file", secretFile).trim() : undefined;
  if (secretFile && !clientSecret) {
    throw new ConfigError("INVALID_FLAG_VALUE", `--session-client-secret-file: ${secretFile} is empty`);
  }

  const external = values["session-external-url"] as string | undefined;
  if (!external) {
    throw new ConfigError(
      "MISSING_REQUIRED_FLAG",
      "--session-external-url is required with sessions: the https URL browsers use to reach the gateway",
    );
  }
  const externalUrl = httpsUrl("session-external-url", external);
  if (externalUrl.search || externalUrl.hash) {
    throw new ConfigError("INVALID_FLAG_VALUE", "--session-external-url: no query or fragment");
  }

  const cookieSecretFile = values["session-cookie-secret-file"] as string | undefined;
  if (!cookieSecretFile) {
    throw new ConfigError(
      "MISSING_REQUIRED_FLAG",
      "--session-cookie-secret-file is required with sessions (e.g. `openssl rand -base64 48 > cookie-secret`)",
    );
  }
  const cookieSecrets = readSecretFile("session-cookie-secret-file", cookieSecretFile)
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  if (cookieSecrets.length === 0 || cookieSecrets.some((s) => s.length < minimumSecretLength)) {
    throw new ConfigError(
      "WEAK_COOKIE_SECRET",
      `--session-cookie-secret-file: every line must hold a secret of at least ${minimumSecretLength} characters`,
    );
  }

  const cookieName = values["session-cookie-name"] as string;
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(cookieName)) {
    throw new ConfigError("INVALID_FLAG_VALUE", `--session-cookie-name: not a cookie name: ${cookieName}`);
  }

  const storeKind = values["session-store"] as string;
  const redisUrl = values["session-redis-url"] as string | undefined;
  let store: SessionConfig["store"];
  if (storeKind === "memory") {
    if (redisUrl) throw new ConfigError("INVALID_FLAG_VALUE", "--session-redis-url needs --session-store=redis");
    store = { kind: "memory" };
  } else if (storeKind === "redis") {
    // serve-config.ts's loadSessionRedis has parsed and checked the --session-redis-* flags.
    if (!redis) {
      throw new ConfigError(
        "MISSING_REQUIRED_FLAG",
        "--session-store=redis needs --session-redis-url, --session-redis-sentinel-connection-urls or --session-redis-cluster-connection-urls",
      );
    }
    store = { kind: "redis", connection: redis };
  } else {
    throw new ConfigError("INVALID_FLAG_VALUE", `--session-store: expected memory or redis, got ${storeKind}`);
  }

  const scopes = [...new Set(["openid", ...((values["session-scopes"] as string[] | undefined) ?? [])])];
  const dashboardUrl = values["dashboard-upstream"] as string | undefined;
  const dashboardToken = values["dashboard-token"] as string;
  if (dashboardToken !== "id" && dashboardToken !== "access") {
    throw new ConfigError("INVALID_FLAG_VALUE", `--dashboard-token: expected id or access, got ${dashboardToken}`);
  }
  const dashboardCaFile = values["dashboard-ca-file"] as string | undefined;
  const apiPrefix = values["session-api-prefix"] as string;
  if (dashboardUrl && !/^\/[A-Za-z0-9._~\-/]*[A-Za-z0-9._~-]$/.test(apiPrefix)) {
    throw new ConfigError("INVALID_FLAG_VALUE", `--session-api-prefix: a path like /k8s, got ${apiPrefix}`);
  }
  if (dashboardUrl && (apiPrefix === "/oauth2" || apiPrefix.startsWith("/oauth2/"))) {
    throw new ConfigError("INVALID_FLAG_VALUE", "--session-api-prefix: /oauth2 belongs to the login endpoints");
  }
  const postLogoutPath = values["session-post-logout-path"] as string;
  if (!postLogoutPath.startsWith("/") || postLogoutPath.startsWith("//")) {
    throw new ConfigError("INVALID_FLAG_VALUE", "--session-post-logout-path: a path starting with one /");
  }

  return {
    issuerUrl,
    issuerCa,
    clientId,
    clientSecret,
    externalUrl: externalUrl.href.replace(/\/$/, ""),
    cookieName,
    cookieSecrets,
    scopes,
    store,
    refreshAheadMs: values["session-refresh-ahead"] as number,
    maxLifetimeMs: values["session-max-lifetime"] as number,
    apiPrefix: dashboardUrl ? apiPrefix : "",
    dashboard: dashboardUrl
      ? {
          url: httpsUrl("dashboard-upstream", dashboardUrl, true).href.replace(/\/$/, ""),
          ca: dashboardCaFile ? readSecretFile("dashboard-ca-file", dashboardCaFile) : undefined,
          token: dashboardToken,
        }
      : undefined,
    whoamiPage: values["whoami-page"] === true,
    postLogoutPath,
  };
}
