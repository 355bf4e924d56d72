// The username the API server derives (claim + prefix; kube-apiserver's default prefix is
// "<issuer>#" unless the claim is email) against the User subjects the cluster's bindings name,
// with the near misses people write by hand: the prefix missing or doubled, another prefix,
// another letter case (kubelogin #156, #280, #706; the Kubeapps guide).
import { type Check, fail, pass, skipped, warn } from "../check.ts";
import { isUnavailable } from "../context.ts";
import { nearMisses } from "../subject-matching.ts";
import { userIdentity } from "./identity.ts";

export const usernameMapping: Check = {
  id: "username-mapping",
  title: "RBAC bindings name the username the API server derives",
  progress: "matching the username with the RBAC bindings",
  async run(context) {
    const identity = await userIdentity(context);
    if ("unknown" in identity) return skipped(`identity unknown: ${identity.unknown}`);
    const bindings = await context.bindings();
    if (isUnavailable(bindings))
      return skipped(bindings.unavailable, [`username: ${identity.username} (${identity.source})`]);
    const users = bindings.flatMap((b) =>
      b.subjects.filter((s) => s.kind === "User").map((s) => ({ binding: b.ref, name: s.name })),
    );
    const evidence = [`username: ${JSON.stringify(identity.username)} (${identity.source})`];
    const exact = users.filter((u) => u.name === identity.username);
    if (exact.length > 0) {
      return pass(
        `${exact.length === 1 ? "1 binding names" : `${exact.length} bindings name`} ${JSON.stringify(identity.username)}`,
        [...evidence, ...exact.map((u) => `${u.binding} names User ${JSON.stringify(u.name)}`)],
      );
    }
    const oidc = await context.oidc();
    const decoded = await context.decoded();
    const iss = decoded && "claims" in decoded ? decoded.claims.iss : undefined;
    const config = isUnavailable(oidc) ? undefined : (oidc.jwt.find((j) => j.issuer.url === iss) ?? oidc.jwt[0]);
    const mapping = config?.claimMappings.username;
    const prefix = mapping && "prefix" in mapping ? mapping.prefix : undefined;
    const misses = nearMisses(identity.username, users, prefix);
    if (misses.length > 0) {
      const first = misses[0];
      return fail(
        `no binding names ${JSON.stringify(identity.username)}, but ${misses.length === 1 ? "one almost does" : `${misses.length} almost do`}${first ? `: ${first.binding} names User ${JSON.stringify(first.name)} (${first.why})` : ""}`,
        [...evidence, ...misses.map((m) => `${m.binding} names User ${JSON.stringify(m.name)}: ${m.why}`)],
        `write the subject as ${JSON.stringify(identity.username)} (RBAC compares names exactly), or change --oidc-username-prefix / claimMappings.username.prefix so the derived name is the one the bindings use`,
      );
    }
    const groupBindings = bindings.filter((b) =>
      b.subjects.some((s) => s.kind === "Group" && identity.groups.includes(s.name)),
    );
    if (groupBindings.length > 0) {
      return pass(
        `no binding names the user; access comes through its groups (${groupBindings.length} binding${groupBindings.length === 1 ? "" : "s"})`,
        [...evidence, ...groupBindings.map((b) => `${b.ref} names one of its groups`)],
      );
    }
    return warn(
      `no RoleBinding or ClusterRoleBinding names ${JSON.stringify(identity.username)} or any of its groups`,
      [...evidence, `groups: ${identity.groups.length ? identity.groups.join(", ") : "(none)"}`],
      `bind a role to User ${JSON.stringify(identity.username)} or to one of its groups; until then every request is forbidden`,
    );
  },
};
