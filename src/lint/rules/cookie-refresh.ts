// oauth2-proxy without --cookie-refresh, or with one not shorter than the access token's
// lifetime: the session keeps a token that expires, and the dashboard logs the user out
// (Kubeapps' OIDC debugging guide: "The duration for the refresh must be less than the
// access/openid expiration time"; Keycloak's default accessTokenLifespan is 5 minutes).
//
// Only an oauth2-proxy that forwards the token matters: with --pass-access-token,
// --pass-authorization-header or --set-authorization-header (oauth2-proxy's flag reference,
// https://oauth2-proxy.github.io/oauth2-proxy/configuration/overview/), the upstream — the
// dashboard — sends that token to the API. Without them oauth2-proxy only gates access by its
// own cookie, and an expired access token breaks nothing.
import { parseDuration } from "../../config/flags.ts";
import { clientAccessTokenLifespan, keycloakRealms } from "../keycloak.ts";
import type { ManifestObject, Path } from "../manifests.ts";
import {
  asRecord,
  type Container,
  commandLineFlags,
  containersOf,
  envVar,
  flagValue,
  runs,
  sameNamespace,
  workloadsOf,
} from "../objects.ts";
import type { Rule, RuleContext } from "../rule.ts";

interface Lifetime {
  readonly seconds: number;
  /** Where the number comes from, said in the message. */
  readonly origin: string;
  /** Assumed (Keycloak's default, no realm or lint setting in sight) rather than read from the input. */
  readonly assumed?: boolean;
}

/** `2m`, `90s`, `1h30m`: the shortest Go duration that says `seconds`. */
export function formatSeconds(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s || (!h && !m) ? `${s}s` : ""}`;
}

function setting(container: Container, flag: string, env: string) {
  const fromFlag = flagValue(commandLineFlags(container), flag);
  if (fromFlag) return { value: fromFlag.value ?? "", path: fromFlag.path as Path, origin: `--${flag}` };
  const fromEnv = envVar(container, env);
  if (fromEnv?.value !== undefined) return { value: fromEnv.value, path: fromEnv.path, origin: env };
  return undefined;
}

/** A setting in an oauth2-proxy config file (TOML) kept in a ConfigMap of the same namespace. */
function fromConfigFile(container: Container, objects: readonly ManifestObject[], key: string) {
  if (!flagValue(commandLineFlags(container), "config")) return undefined;
  const line = new RegExp(`^\\s*${key}\\s*=\\s*"?([^"\\s#]*)"?`, "m");
  for (const object of objects) {
    if (object.kind !== "ConfigMap" || !sameNamespace(object.namespace, container.workload.namespace)) continue;
    for (const [dataKey, text] of Object.entries(asRecord(object.body.data))) {
      const match = typeof text === "string" ? line.exec(text) : null;
      if (match) {
        return {
          value: match[1] ?? "",
          path: [...container.path, "name"] as Path,
          origin: `${key} in ConfigMap ${object.name} (${dataKey})`,
        };
      }
    }
  }
  return undefined;
}

/** The boolean options that make oauth2-proxy send the access token upstream. */
const forwardingOptions = ["pass-access-token", "pass-authorization-header", "set-authorization-header"];

/** The first forwarding option that is on, as it is written, or undefined. */
function forwardsToken(container: Container, objects: readonly ManifestObject[]): string | undefined {
  for (const option of forwardingOptions) {
    const env = `OAUTH2_PROXY_${option.toUpperCase().replaceAll("-", "_")}`;
    // A boolean flag given bare is true; `--flag=false` turns it off (pflag).
    const flag = flagValue(commandLineFlags(container), option);
    const given =
      (flag ? { value: flag.value ?? "true", origin: `--${option}` } : undefined) ??
      (envVar(container, env)?.value !== undefined
        ? { value: envVar(container, env)?.value ?? "", origin: env }
        : undefined) ??
      fromConfigFile(container, objects, option.replaceAll("-", "_"));
    if (given && /^(true|1|t|yes|on)$/i.test(given.value)) return given.origin;
  }
  return undefined;
}

function tokenLifetime(container: Container, context: RuleContext): Lifetime {
  const realms = keycloakRealms(context.objects);
  const issuer = setting(container, "oidc-issuer-url", "OAUTH2_PROXY_OIDC_ISSUER_URL")?.value ?? "";
  const clientId = setting(container, "client-id", "OAUTH2_PROXY_CLIENT_ID")?.value;
  const realmName = /\/realms\/([^/]+)\/?$/.exec(issuer)?.[1];
  const realm = realmName ? realms.find((r) => r.name === realmName) : realms.length === 1 ? realms[0] : undefined;
  if (realm) {
    const ofClient = clientAccessTokenLifespan(realm, clientId);
    if (ofClient !== undefined) {
      return {
        seconds: ofClient,
        origin: `access.token.lifespan of client ${clientId} in Keycloak realm ${realm.name}`,
      };
    }
    return {
      seconds: realm.accessTokenLifespanSeconds,
      origin: realm.lifespanSet
        ? `accessTokenLifespan of Keycloak realm ${realm.name} in the input`
        : `Keycloak's default; realm ${realm.name} in the input does not set accessTokenLifespan`,
    };
  }
  if (realms.length > 1) {
    const shortest = realms.reduce((a, b) => (a.accessTokenLifespanSeconds <= b.accessTokenLifespanSeconds ? a : b));
    return {
      seconds: shortest.accessTokenLifespanSeconds,
      origin: `the shortest accessTokenLifespan of the Keycloak realms in the input (${shortest.name})`,
    };
  }
  if (context.tokenLifetimeMs !== undefined) {
    return { seconds: context.tokenLifetimeMs / 1000, origin: "tokenLifetime in the lint configuration" };
  }
  return {
    seconds: 300,
    origin: "Keycloak's default access token lifespan; set tokenLifetime in the lint config for another issuer",
    assumed: true,
  };
}

export const cookieRefresh: Rule = {
  id: "cookie-refresh",
  // No refresh at all is a certain logout: the forwarded token expires long before the session
  // (oauth2-proxy's --cookie-expire, 168h by default). A refresh measured against an assumed
  // lifespan may be fine, so that case is a warning.
  severity: "error",
  title: "oauth2-proxy forwarding tokens without a --cookie-refresh shorter than the token lifetime",
  description:
    "An oauth2-proxy that forwards the access token upstream (--pass-access-token, --pass-authorization-header or " +
    "--set-authorization-header, as flags, OAUTH2_PROXY_* variables or config file settings). oauth2-proxy refreshes the session's tokens only when --cookie-refresh is set, and only after that interval. " +
    "When it is absent or not shorter than the issuer's access token lifespan, the token the dashboard forwards " +
    "expires first and the user is logged out (Keycloak's default lifespan is 5 minutes).",
  remediation: "Set --cookie-refresh (or OAUTH2_PROXY_COOKIE_REFRESH) below the token lifespan, e.g. 2m for 5m.",
  *check(context) {
    for (const workload of workloadsOf(context.objects)) {
      for (const container of containersOf(workload)) {
        if (!runs(container, /^oauth2-proxy$/)) continue;
        const forwarding = forwardsToken(container, context.objects);
        if (forwarding === undefined) continue;
        const lifetime = tokenLifetime(container, context);
        const lifespan = formatSeconds(lifetime.seconds);
        const suggestion = formatSeconds(Math.max(1, Math.floor(lifetime.seconds * 0.4)));
        const refresh =
          setting(container, "cookie-refresh", "OAUTH2_PROXY_COOKIE_REFRESH") ??
          fromConfigFile(container, context.objects, "cookie_refresh");
        let refreshMs: number | undefined;
        try {
          refreshMs = refresh && refresh.value !== "" ? parseDuration(refresh.value) : undefined;
        } catch {
          refreshMs = undefined;
        }
        if (!refresh || refreshMs === undefined || refreshMs === 0) {
          yield {
            object: workload.object,
            path: refresh?.path ?? [...container.path, "name"],
            message:
              `oauth2-proxy container ${container.name} ${refresh ? `has ${refresh.origin}=${JSON.stringify(refresh.value)}, which never refreshes` : "does not set --cookie-refresh"}, ` +
              `so the session outlives the access token it forwards (${forwarding}): users are logged out when it ` +
              `expires after ${lifespan} (${lifetime.origin})`,
            fix: `Add --cookie-refresh=${suggestion} (shorter than the ${lifespan} token lifespan).`,
          };
        } else if (refreshMs >= lifetime.seconds * 1000) {
          yield {
            object: workload.object,
            path: refresh.path,
            message:
              `oauth2-proxy container ${container.name} refreshes every ${refresh.value} (${refresh.origin}), not sooner ` +
              `than the access token expires after ${lifespan} (${lifetime.origin}); the forwarded token expires first`,
            fix: `Set --cookie-refresh=${suggestion} (shorter than the ${lifespan} token lifespan).`,
            ...(lifetime.assumed ? { severity: "warning" as const } : {}),
          };
        }
      }
    }
  },
};
