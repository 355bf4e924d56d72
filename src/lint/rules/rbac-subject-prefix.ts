// RBAC subjects that the usernames and groups of the input's OIDC configuration can never
// equal. The API server (or the gateway, which impersonates) prefixes every OIDC username and
// group as configured; a binding must name the prefixed form (Kubeapps' OIDC debugging guide:
// "Checking your OIDC prefix"; kubelogin #156, #280, #706). Keycloak's group mapper writes full
// paths ("/team") when its full.path option is on (kubelogin #1054).
//
// Not every unprefixed subject is a mistake: client-certificate users (`jane`, the CN of her
// certificate), kubeadm's own `kubeadm:cluster-admins` group, ServiceAccount-style `system:`
// names and users of another authenticator never carry the OIDC prefix. So only near misses are
// reported at the rule's severity: the prefix doubled, another OIDC-style prefix in its place,
// or the prefix missing on a name shaped like what the claim yields (an email for the email
// claim, a Keycloak sub UUID, a `/group` path, a user or group of a Keycloak realm in the input).
// Any other unprefixed name is at most an info note that says it will not match if it is meant
// for an OIDC user.
import { groupMappers, type KeycloakRealm, keycloakRealms, realmGroupNames, realmUserNames } from "../keycloak.ts";
import type { ManifestObject } from "../manifests.ts";
import { asArray, asRecord, asString } from "../objects.ts";
import { type IdentityMapping, identityMappings } from "../oidc-settings.ts";
import type { Rule, RuleHit } from "../rule.ts";

/** Whether `name` can come from a mapping with `prefix` (a doubled prefix cannot). */
function fits(name: string, prefix: string): boolean {
  return name.startsWith(prefix) && !(prefix !== "" && name.startsWith(prefix + prefix));
}

/** Names no OIDC token yields: Kubernetes' own (`system:`) and kubeadm's (`kubeadm:cluster-admins`). */
const notFromTokens = /^(system|kubeadm):/;

/**
 * Prefixes people give OIDC identities (`oidc:`, `keycloak:`, `dex-` …) and kube-apiserver's
 * default `<issuer>#`: a subject carrying one of them is meant for an OIDC user.
 */
const oidcStylePrefix =
  /^(?:(?:oidc|keycloak|dex|sso|okta|auth0|azure(?:ad)?|entra|google|github|gitlab)[:_\-/#]|https?:\/\/[^#\s]+#)/i;

const emailShape = /^[^@\s/:]+@[^@\s/:]+\.[^@\s/:]+$/;
const uuidShape = /^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/i;

type Kind = "User" | "Group";

interface Known {
  /** Usernames and emails of the users of the Keycloak realms in the input. */
  readonly users: ReadonlySet<string>;
  /** Names and full paths of the groups of the Keycloak realms in the input. */
  readonly groups: ReadonlySet<string>;
}

/** Why `name` (without the prefix) looks like what the token carries, or undefined. */
function claimShaped(kind: Kind, name: string, mapping: IdentityMapping, known: Known): string | undefined {
  if (kind === "User") {
    if (known.users.has(name)) return `'${name}' is a user of a Keycloak realm in the input`;
    if (mapping.usernameClaim === "email" && emailShape.test(name))
      return "it is an email and the username claim is email";
    if (mapping.usernameClaim === "sub" && uuidShape.test(name))
      return "it is a UUID like the sub claim Keycloak issues";
    return undefined;
  }
  if (known.groups.has(name)) return `'${name}' is a group of a Keycloak realm in the input`;
  if (name.startsWith("/")) return "it is a Keycloak-style group path";
  return undefined;
}

function unmatched(kind: Kind, name: string, mapping: IdentityMapping, origin: string, known: Known) {
  const prefix = (kind === "User" ? mapping.usernamePrefix : mapping.groupsPrefix) ?? "";
  const what = kind === "User" ? "usernames" : "groups";
  const who = kind === "User" ? "the user" : "the group";
  const says = `${mapping.where} puts '${prefix}' on ${what} (${origin})`;
  if (prefix !== "" && name.startsWith(prefix + prefix)) {
    return {
      message: `${kind} subject '${name}' carries the prefix '${prefix}' twice; ${says} once, so this binding will not match`,
      fix: `Write the subject as '${name.slice(prefix.length)}'.`,
    };
  }
  const other = oidcStylePrefix.exec(name)?.[0];
  if (other !== undefined && !prefix.startsWith(other)) {
    const bare = name.slice(other.length);
    return {
      message:
        `${kind} subject '${name}' carries the prefix '${other}', but ${says}; ${who} arrives as '${prefix}${bare}', ` +
        "so this binding will not match",
      fix: `Write the subject as '${prefix}${bare}'.`,
    };
  }
  const why = claimShaped(kind, name, mapping, known);
  if (why !== undefined) {
    return {
      message:
        `${kind} subject '${name}' lacks the prefix '${prefix}': ${says}, and ${why}; ${who} arrives as ` +
        `'${prefix}${name}', so this binding will not match`,
      fix: `Write the subject as '${prefix}${name}'.`,
    };
  }
  return {
    message:
      `${kind} subject '${name}' does not carry the prefix '${prefix}' that ${mapping.where} puts on ${what} ` +
      `(${origin}); if this is an OIDC ${kind === "User" ? "user" : "group"} it will not match (it arrives as ` +
      `'${prefix}${name}'); certificate and other non-OIDC identities carry no prefix and are fine`,
    fix:
      `If '${name}' comes from OIDC, write the subject as '${prefix}${name}'; otherwise leave it (annotate the ` +
      "binding with lint.kube-oidc-gateway.io/disable: rbac-subject-prefix to drop this note).",
    ceiling: "info" as const,
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
  known: Known,
): Generator<RuleHit> {
  for (const [index, entry] of asArray(binding.body.subjects).entries()) {
    const subject = asRecord(entry);
    const name = asString(subject.name);
    const path = ["subjects", index, "name"];
    if (name === undefined || notFromTokens.test(name)) continue;
    if (subject.kind === "User" && users.length > 0) {
      if (users.some((m) => fits(name, m.usernamePrefix ?? ""))) continue;
      // The configuration whose claim the name is shaped like explains it best.
      const mapping = users.find((m) => claimShaped("User", name, m, known)) ?? (users[0] as IdentityMapping);
      yield { object: binding, path, ...unmatched("User", name, mapping, mapping.usernamePrefixOrigin, known) };
    }
    if (subject.kind === "Group" && groups.length > 0) {
      const fitting = groups.filter((m) => fits(name, m.groupsPrefix ?? ""));
      if (fitting.length === 0) {
        const mapping = groups[0] as IdentityMapping;
        const origin = `groups prefix '${mapping.groupsPrefix ?? ""}'`;
        yield { object: binding, path, ...unmatched("Group", name, mapping, origin, known) };
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
  // The near misses reported at this severity can never match (every request of that user or
  // group is denied): an error. Names that may belong to another authenticator stay info notes.
  severity: "error",
  title: "RBAC User/Group subject without the OIDC username or groups prefix",
  description:
    "A RoleBinding or ClusterRoleBinding names a User or Group that the input's OIDC configuration (kube-apiserver " +
    "flags, a kube-oidc-proxy or kube-oidc-gateway container, an AuthenticationConfiguration) cannot produce: the " +
    "prefix doubled or replaced by another OIDC-style prefix, missing on a name shaped like the claim (an email, a " +
    "Keycloak user, group or /path), or a Keycloak group written without (or with) the full path the token carries. " +
    "Other unprefixed names (certificate users, kubeadm: and system: names) are at most an info note.",
  remediation:
    "Write subjects exactly as the API server sees them: prefix + claim value (e.g. 'oidc:alice', 'oidc:/team').",
  *check({ objects }) {
    const mappings = identityMappings(objects);
    if (mappings.length === 0) return;
    const users = mappings.filter((m) => m.usernamePrefix !== undefined);
    const groups = mappings.filter((m) => m.groupsClaim !== undefined && m.groupsPrefix !== undefined);
    const realms = keycloakRealms(objects);
    const known: Known = {
      users: new Set(realms.flatMap((r) => [...realmUserNames(r)])),
      groups: new Set(realms.flatMap((r) => [...realmGroupNames(r)])),
    };
    for (const binding of objects) {
      if (binding.kind !== "RoleBinding" && binding.kind !== "ClusterRoleBinding") continue;
      yield* subjectHits(binding, users, groups, realms, known);
    }
  },
};
