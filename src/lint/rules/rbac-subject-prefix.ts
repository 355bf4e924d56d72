// RBAC subjects that the usernames and groups of the input's OIDC configuration can never
// equal. The API server (or the gateway, which impersonates) prefixes every OIDC username and
// group as configured; a binding must name the prefixed form (Kubeapps' OIDC debugging guide:
// "Checking your OIDC prefix"; kubelogin #156, #280, #706). Keycloak's group mapper writes full
// paths ("/team") when its full.path option is on (kubelogin #1054).
import { groupMappers, type KeycloakRealm, keycloakRealms } from "../keycloak.ts";
import type { ManifestObject } from "../manifests.ts";
import { asArray, asRecord, asString } from "../objects.ts";
import { type IdentityMapping, identityMappings } from "../oidc-settings.ts";
import type { Rule, RuleHit } from "../rule.ts";

/** Whether `name` can come from a mapping with `prefix` (a doubled prefix cannot). */
function fits(name: string, prefix: string): boolean {
  return name.startsWith(prefix) && !(prefix !== "" && name.startsWith(prefix + prefix));
}

function nearMiss(kind: "User" | "Group", name: string, prefix: string, mapping: IdentityMapping, origin: string) {
  const doubled = prefix !== "" && name.startsWith(prefix + prefix);
  const intended = doubled ? name.slice(prefix.length) : `${prefix}${name}`;
  const what = kind === "User" ? "usernames" : "groups";
  return {
    message: doubled
      ? `${kind} subject '${name}' carries the prefix '${prefix}' twice; ${mapping.where} prefixes ${what} once ` +
        `(${origin}), so this binding never matches anyone`
      : `${kind} subject '${name}' lacks the prefix '${prefix}' that ${mapping.where} puts on ${what} (${origin}); ` +
        `the ${kind === "User" ? "user" : "group"} arrives as '${prefix}${name}', so this binding never applies`,
    fix: `Write the subject as '${intended}'.`,
  };
}

/** The realms an issuer URL names (`…/realms/<name>`), or all realms when it names none in the input. */
function realmsOf(issuer: string | undefined, realms: readonly KeycloakRealm[]): readonly KeycloakRealm[] {
  const name = /\/realms\/([^/]+)\/?$/.exec(issuer ?? "")?.[1];
  const named = realms.filter((r) => r.name === name);
  return named.length > 0 ? named : realms;
}

function* subjectHits(
  binding: ManifestObject,
  users: readonly IdentityMapping[],
  groups: readonly IdentityMapping[],
  realms: readonly KeycloakRealm[],
): Generator<RuleHit> {
  for (const [index, entry] of asArray(binding.body.subjects).entries()) {
    const subject = asRecord(entry);
    const name = asString(subject.name);
    const path = ["subjects", index, "name"];
    if (name === undefined || name.startsWith("system:")) continue;
    if (subject.kind === "User" && users.length > 0) {
      if (users.some((m) => fits(name, m.usernamePrefix ?? ""))) continue;
      const mapping = users[0] as IdentityMapping;
      yield {
        object: binding,
        path,
        ...nearMiss("User", name, mapping.usernamePrefix ?? "", mapping, mapping.usernamePrefixOrigin),
      };
    }
    if (subject.kind === "Group" && groups.length > 0) {
      const fitting = groups.filter((m) => fits(name, m.groupsPrefix ?? ""));
      if (fitting.length === 0) {
        const mapping = groups[0] as IdentityMapping;
        const prefix = mapping.groupsPrefix ?? "";
        yield { object: binding, path, ...nearMiss("Group", name, prefix, mapping, `--oidc-groups-prefix=${prefix}`) };
        continue;
      }
      const mapping = fitting[0] as IdentityMapping;
      const prefix = mapping.groupsPrefix ?? "";
      const group = name.slice(prefix.length);
      const mapper = realmsOf(mapping.issuer, realms)
        .flatMap(groupMappers)
        .find((m) => m.claim === mapping.groupsClaim);
      if (!mapper || mapper.fullPath === group.startsWith("/")) continue;
      yield {
        object: binding,
        path,
        message: mapper.fullPath
          ? `Group subject '${name}' names the group without its path, but the Keycloak mapper of claim ` +
            `${mapping.groupsClaim} has full.path on and sends '/${group}', so the group arrives as '${prefix}/${group}'`
          : `Group subject '${name}' names a full path, but the Keycloak mapper of claim ${mapping.groupsClaim} has ` +
            `full.path off and sends '${group.replace(/^\/+/, "").split("/").at(-1)}', so the group arrives as ` +
            `'${prefix}${group.replace(/^\/+/, "").split("/").at(-1)}'`,
        fix: mapper.fullPath
          ? `Write the subject as '${prefix}/${group}', or turn full.path off in the mapper.`
          : `Write the subject as '${prefix}${group.replace(/^\/+/, "").split("/").at(-1)}', or turn full.path on.`,
      };
    }
  }
}

export const rbacSubjectPrefix: Rule = {
  id: "rbac-subject-prefix",
  severity: "warning",
  title: "RBAC User/Group subject without the OIDC username or groups prefix",
  description:
    "A RoleBinding or ClusterRoleBinding names a User or Group that the input's OIDC configuration (kube-apiserver " +
    "flags, a kube-oidc-proxy or kube-oidc-gateway container, an AuthenticationConfiguration) can never produce: the " +
    "prefix is missing or doubled, or a Keycloak group is written without (or with) the full path the token carries.",
  remediation:
    "Write subjects exactly as the API server sees them: prefix + claim value (e.g. 'oidc:alice', 'oidc:/team').",
  *check({ objects }) {
    const mappings = identityMappings(objects);
    if (mappings.length === 0) return;
    const users = mappings.filter((m) => m.usernamePrefix !== undefined);
    const groups = mappings.filter((m) => m.groupsClaim !== undefined && m.groupsPrefix !== undefined);
    const realms = keycloakRealms(objects);
    for (const binding of objects) {
      if (binding.kind !== "RoleBinding" && binding.kind !== "ClusterRoleBinding") continue;
      yield* subjectHits(binding, users, groups, realms);
    }
  },
};
