// oauth2-proxy without --cookie-refresh, or with one not shorter than the access token's
// lifetime: the session keeps a token that expires, and the dashboard logs the user out
// (Kubeapps' OIDC debugging guide: "The duration for the refresh must be less than the
// access/openid expiration time"; Keycloak's default accessTokenLifespan is 5 minutes).
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

/** cookie_refresh in an oauth2-proxy config file kept in a ConfigMap of the same namespace. */
function refreshFromConfigFile(container: Container, objects: readonly ManifestObject[]) {
  if (!flagValue(commandLineFlags(container), "config")) return undefined;
  for (const object of objects) {
    if (object.kind !== "ConfigMap" || !sameNamespace(object.namespace, container.workload.namespace)) continue;
    for (const [key, text] of Object.entries(asRecord(object.body.data))) {
      const match = typeof text === "string" ? /^\s*cookie_refresh\s*=\s*"?([^"\s]*)"?/m.exec(text) : null;
      if (match) {
        return {
          value: match[1] ?? "",
          path: [...container.path, "name"] as Path,
          origin: `cookie_refresh in ConfigMap ${object.name} (${key})`,
        };
      }
    }
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
  };
}

export const cookieRefresh: Rule = {
  id: "cookie-refresh",
  severity: "warning",
  title: "oauth2-proxy --cookie-refresh absent or not shorter than the token lifetime",
  description:
    "oauth2-proxy refreshes the session's tokens only when --cookie-refresh is set, and only after that interval. " +
    "When it is absent or not shorter than the issuer's access token lifespan, the token the dashboard forwards " +
    "expires first and the user is logged out (Keycloak's default lifespan is 5 minutes).",
  remediation: "Set --cookie-refresh (or OAUTH2_PROXY_COOKIE_REFRESH) below the token lifespan, e.g. 2m for 5m.",
  *check(context) {
    for (const workload of workloadsOf(context.objects)) {
      for (const container of containersOf(workload)) {
        if (!runs(container, /^oauth2-proxy$/)) continue;
        const lifetime = tokenLifetime(container, context);
        const lifespan = formatSeconds(lifetime.seconds);
        const suggestion = formatSeconds(Math.max(1, Math.floor(lifetime.seconds * 0.4)));
        const refresh =
          setting(container, "cookie-refresh", "OAUTH2_PROXY_COOKIE_REFRESH") ??
          refreshFromConfigFile(container, context.objects);
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
              `so the session outlives its access token: users are logged out when it expires after ${lifespan} (${lifetime.origin})`,
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
          };
        }
      }
    }
  },
};
