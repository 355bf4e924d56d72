// Keycloak realms found in the input: the Keycloak operator's KeycloakRealmImport
// (k8s.keycloak.org), the legacy operator's KeycloakRealm, a realm export (JSON with a `realm`
// key) as its own file or inside a ConfigMap. Rules read token lifespans and group mappers
// from them.
import type { ManifestObject } from "./manifests.ts";
import { asArray, asRecord, asString, type Json } from "./objects.ts";

/** Keycloak's default access token lifespan (realm setting accessTokenLifespan, in seconds). */
export const keycloakDefaultAccessTokenLifespanSeconds = 300;

export interface KeycloakRealm {
  readonly object: ManifestObject;
  readonly name: string;
  readonly accessTokenLifespanSeconds: number;
  /** Whether the realm sets accessTokenLifespan itself (else Keycloak's default applies). */
  readonly lifespanSet: boolean;
  readonly body: Json;
}

export function keycloakRealms(objects: readonly ManifestObject[]): KeycloakRealm[] {
  const realms: KeycloakRealm[] = [];
  const add = (object: ManifestObject, body: unknown) => {
    const realm = asRecord(body);
    const name = asString(realm.realm);
    if (name === undefined) return;
    const lifespan = Number(realm.accessTokenLifespan);
    const lifespanSet = Number.isFinite(lifespan) && lifespan > 0;
    realms.push({
      object,
      name,
      accessTokenLifespanSeconds: lifespanSet ? lifespan : keycloakDefaultAccessTokenLifespanSeconds,
      lifespanSet,
      body: realm,
    });
  };
  for (const object of objects) {
    if (object.kind === "KeycloakRealmImport" || object.kind === "KeycloakRealm") {
      add(object, asRecord(object.body.spec).realm);
    } else if (object.kind === "" && typeof object.body.realm === "string") {
      add(object, object.body);
    } else if (object.kind === "ConfigMap") {
      for (const value of Object.values(asRecord(object.body.data))) {
        if (typeof value !== "string" || !value.trimStart().startsWith("{")) continue;
        try {
          add(object, JSON.parse(value));
        } catch {
          // Not a realm export; other rules may still read this ConfigMap.
        }
      }
    }
  }
  return realms;
}

/** A client's own access.token.lifespan attribute overrides the realm's. */
export function clientAccessTokenLifespan(realm: KeycloakRealm, clientId: string | undefined): number | undefined {
  if (clientId === undefined) return undefined;
  const client = asArray(realm.body.clients)
    .map(asRecord)
    .find((c) => c.clientId === clientId);
  const value = Number(asRecord(client?.attributes)["access.token.lifespan"]);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

export interface GroupMapper {
  readonly claim: string;
  /**
   * Whether groups are written as full paths (`/team/sub`). Keycloak's GroupMembershipMapper
   * reads `"true".equals(config.get("full.path"))`, so an absent setting means false.
   */
  readonly fullPath: boolean;
}

/** The group-membership mappers of a realm's clients and client scopes. */
export function groupMappers(realm: KeycloakRealm): GroupMapper[] {
  const holders = [...asArray(realm.body.clients), ...asArray(realm.body.clientScopes)].map(asRecord);
  return holders.flatMap((holder) =>
    asArray(holder.protocolMappers)
      .map(asRecord)
      .filter((m) => m.protocolMapper === "oidc-group-membership-mapper")
      .map((m) => {
        const config = asRecord(m.config);
        return { claim: asString(config["claim.name"]) ?? "", fullPath: asString(config["full.path"]) === "true" };
      }),
  );
}

/** The usernames and emails of the users a realm export lists. */
export function realmUserNames(realm: KeycloakRealm): Set<string> {
  const names = new Set<string>();
  for (const user of asArray(realm.body.users).map(asRecord)) {
    for (const value of [user.username, user.email]) {
      const name = asString(value);
      if (name) names.add(name);
    }
  }
  return names;
}

/** The names and full paths (`/team/sub`) of the groups a realm export lists. */
export function realmGroupNames(realm: KeycloakRealm): Set<string> {
  const names = new Set<string>();
  const walk = (groups: unknown, parent: string, depth: number) => {
    if (depth > 32) return;
    for (const group of asArray(groups).map(asRecord)) {
      const name = asString(group.name);
      if (!name) continue;
      names.add(name);
      names.add(`${parent}/${name}`);
      walk(group.subGroups, `${parent}/${name}`, depth + 1);
    }
  };
  walk(realm.body.groups, "", 0);
  return names;
}
