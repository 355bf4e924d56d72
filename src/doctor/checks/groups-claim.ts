// The groups the API server derives: the configured claim present in the token and a string or a
// list of strings, its prefix applied, and the result matching the Group subjects of the
// bindings, including Keycloak's full group paths ("/team") and prefix slips
// (kubelogin #114, #1054, #1136).
import { type Check, fail, pass, skipped, warn } from "../check.ts";
import { isUnavailable } from "../context.ts";
import { nearMisses } from "../subject-matching.ts";
import { userIdentity } from "./identity.ts";

const mapperFix =
  'add a groups mapper at the issuer that puts the claim into the id token (Keycloak: Client scopes → the client\'s dedicated scope → Add mapper → "Group Membership", token claim name "groups", "Add to ID token" on, "Full group path" off)';

export const groupsClaim: Check = {
  id: "groups-claim",
  title: "the groups claim is present and matches the RBAC bindings",
  progress: "checking the groups claim",
  async run(context) {
    const decoded = await context.decoded();
    if (!decoded || !("claims" in decoded)) return skipped("no readable token");
    const oidc = await context.oidc();
    if (isUnavailable(oidc)) return skipped(oidc.unavailable);
    const config = oidc.jwt.find((j) => j.issuer.url === decoded.claims.iss) ?? oidc.jwt[0];
    const mapping = config?.claimMappings.groups;
    const bindings = await context.bindings();
    const groupSubjects = isUnavailable(bindings)
      ? []
      : bindings.flatMap((b) =>
          b.subjects.filter((s) => s.kind === "Group").map((s) => ({ binding: b.ref, name: s.name })),
        );
    const oidcGroupSubjects = groupSubjects.filter((s) => !s.name.startsWith("system:"));
    if (!mapping) {
      return oidcGroupSubjects.length > 0
        ? warn(
            "no groups claim is configured, so users have no groups from their tokens",
            [
              `${oidc.source} has no --oidc-groups-claim`,
              ...oidcGroupSubjects.slice(0, 5).map((s) => `${s.binding} names Group ${JSON.stringify(s.name)}`),
            ],
            "set --oidc-groups-claim (and a prefix such as oidc:) if bindings are meant to name groups",
          )
        : skipped(`no groups claim configured in ${oidc.source}`);
    }
    if ("claim" in mapping) {
      const value = decoded.claims[mapping.claim];
      const evidence = [
        `${oidc.source}: groups from claim ${JSON.stringify(mapping.claim)} with prefix ${JSON.stringify(mapping.prefix)}`,
      ];
      const distributed = (decoded.claims._claim_names as Record<string, unknown> | undefined)?.[mapping.claim];
      if (value === undefined && distributed !== undefined) {
        evidence.push(
          `the claim is distributed (_claim_names → ${JSON.stringify(distributed)}): the API server fetches it`,
        );
      } else if (value === undefined && oidcGroupSubjects.length === 0) {
        return warn(
          `the token has no ${JSON.stringify(mapping.claim)} claim, so the user has no groups${isUnavailable(bindings) ? "" : " (no binding names an OIDC group yet)"}`,
          [
            ...evidence,
            `claim names in the token: ${Object.keys(decoded.claims).join(", ")}`,
            ...(isUnavailable(bindings) ? [bindings.unavailable] : []),
          ],
          mapperFix,
        );
      } else if (value === undefined) {
        return fail(
          `the token has no ${JSON.stringify(mapping.claim)} claim, so the user has no groups${oidcGroupSubjects.length ? ` and ${oidcGroupSubjects.length} group binding${oidcGroupSubjects.length === 1 ? "" : "s"} cannot apply` : ""}`,
          [
            ...evidence,
            `claim names in the token: ${Object.keys(decoded.claims).join(", ")}`,
            ...oidcGroupSubjects.slice(0, 5).map((s) => `${s.binding} names Group ${JSON.stringify(s.name)}`),
          ],
          mapperFix,
        );
      }
      const ok =
        value === undefined ||
        typeof value === "string" ||
        (Array.isArray(value) && value.every((v) => typeof v === "string"));
      if (!ok)
        return fail(
          `the ${JSON.stringify(mapping.claim)} claim is neither a string nor a list of strings`,
          [...evidence, `value: ${JSON.stringify(value).slice(0, 200)}`],
          mapperFix,
        );
    }
    const identity = await userIdentity(context);
    if ("unknown" in identity) return skipped(`identity unknown: ${identity.unknown}`);
    const evidence = [
      `groups: ${identity.groups.length ? identity.groups.map((g) => JSON.stringify(g)).join(", ") : "(none)"} (${identity.source})`,
    ];
    if (isUnavailable(bindings)) return skipped(bindings.unavailable, evidence);
    const prefix = "prefix" in mapping ? mapping.prefix : undefined;
    const matched = identity.groups.filter((g) => groupSubjects.some((s) => s.name === g));
    const misses = identity.groups
      .flatMap((g) => nearMisses(g, groupSubjects, prefix).map((m) => ({ ...m, group: g })))
      .filter((m) => !matched.includes(m.group));
    if (misses.length > 0) {
      const first = misses[0];
      return fail(
        `bindings almost name the user's groups${first ? `: ${first.binding} names Group ${JSON.stringify(first.name)}, the user has ${JSON.stringify(first.group)} (${first.why})` : ""}`,
        [
          ...evidence,
          ...misses.map((m) => `${m.binding}: Group ${JSON.stringify(m.name)} vs ${JSON.stringify(m.group)}: ${m.why}`),
        ],
        `write the Group subject exactly as the API server derives it (${JSON.stringify(first?.group)}), or change the groups prefix or Keycloak's "Full group path" so the two agree`,
      );
    }
    const paths = identity.groups.filter((g) => g.slice(prefix?.length ?? 0).startsWith("/"));
    if (paths.length > 0 && matched.length === 0) {
      return warn(
        `the groups are Keycloak full paths (${paths.join(", ")})`,
        evidence,
        'bindings must name them with the leading slash, or turn "Full group path" off in the group mapper',
      );
    }
    return pass(
      `${identity.groups.length} group${identity.groups.length === 1 ? "" : "s"}, ${matched.length} named by a binding`,
      [...evidence, ...matched.map((g) => `bound: ${JSON.stringify(g)}`)],
    );
  },
};
