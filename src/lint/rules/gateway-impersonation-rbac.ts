// A gateway's ClusterRole in the input that lacks an impersonation right the gateway's settings
// in the same input will need. kube-apiserver authorizes every Impersonate-* item on its own
// (k8s.io/apiserver@v0.37.2 pkg/endpoints/filters/impersonation/impersonation.go: verb
// "impersonate" on users and groups in the core group, on uids and on userextras/<key> in
// authentication.k8s.io), and RBAC matches a rule's resource against "userextras/<key>" as a
// whole (k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac ResourceMatches). kube-oidc-proxy's
// own ClusterRole (v0.3.0 deploy/yaml/kube-oidc-proxy.yaml) grants users, groups,
// serviceaccounts and userextras/scopes, but not the extra
// authentication.kubernetes.io/credential-id that the gateway sets from a token's `jti` as
// kube-apiserver does: at run time the gateway leaves that extra out and says so
// (src/server/impersonation-rights.ts); lint says it before deploying.
//
// Only ClusterRoles and Roles bound to the gateway's ServiceAccount in the input are read; a
// gateway whose bindings are not in the input is not judged. An --authentication-config file's
// extra keys are not known here (the file is on the node or in a Secret), so only the
// credential-id, nested impersonation's and kube-oidc-proxy's extra keys are asked for.
import { gatewaySettings, isGateway } from "../gateway-config.ts";
import type { ManifestObject } from "../manifests.ts";
import { asArray, asRecord, asString, containersOf, sameNamespace, workloadsOf } from "../objects.ts";
import type { Rule, RuleHit } from "../rule.ts";
import { serviceAccountName } from "../service-accounts.ts";

/** One right: the API group and the resource as RBAC names it ("userextras/<key>"). */
interface Needed {
  readonly group: "" | "authentication.k8s.io";
  readonly resource: string;
  readonly why: string;
}

const credentialIdExtra = "authentication.kubernetes.io/credential-id";
// src/proxy/nested-impersonation.ts originalUserExtra / originalGroupsExtra.
const originalExtras = [
  "authentication.kube-oidc-gateway.io/original-username",
  "authentication.kube-oidc-gateway.io/original-groups",
];
// kube-oidc-proxy v0.3.0 pkg/proxy/proxy.go UserHeaderClientIPKey, lower-cased by the API server.
const clientIpExtra = "remote-client-ip";

const asciiLower = (key: string) => key.replace(/[A-Z]/g, (c) => c.toLowerCase());
const on = (value: string | undefined) => value !== undefined && value !== "false";

/** What a gateway with these settings impersonates (src/server/impersonation-rights.ts, from flags). */
function neededBy(settings: ReadonlyMap<string, { readonly value: string }>): Needed[] {
  const value = (name: string) => settings.get(name)?.value;
  if (on(value("disable-impersonation"))) return [];
  const nested = on(value("allow-nested-impersonation"));
  const needed: Needed[] = [{ group: "", resource: "users", why: "every authenticated request" }];
  if (value("oidc-groups-claim") || value("authentication-config") || nested)
    needed.push({ group: "", resource: "groups", why: "the groups of a token" });
  if (nested) needed.push({ group: "authentication.k8s.io", resource: "uids", why: "--allow-nested-impersonation" });
  const extras = new Map<string, string>([[credentialIdExtra, "tokens with a jti claim, as kube-apiserver sets it"]]);
  if (nested) for (const key of originalExtras) extras.set(key, "--allow-nested-impersonation");
  if (on(value("extra-user-header-client-ip"))) extras.set(clientIpExtra, "--extra-user-header-client-ip");
  for (const pair of (value("extra-user-headers") ?? "").split(",")) {
    const key = pair.split("=")[0]?.trim();
    if (key) extras.set(asciiLower(key), "--extra-user-headers");
  }
  for (const [key, why] of extras) needed.push({ group: "authentication.k8s.io", resource: `userextras/${key}`, why });
  return needed;
}

/** Whether one RBAC rule grants `impersonate` on the whole of `right` (a rule with resourceNames does not). */
function grants(rule: Record<string, unknown>, right: Needed): boolean {
  const has = (field: string, value: string) => asArray(rule[field]).some((entry) => entry === value || entry === "*");
  return (
    has("apiGroups", right.group) &&
    has("verbs", "impersonate") &&
    has("resources", right.resource) &&
    asArray(rule.resourceNames).length === 0
  );
}

/** The roles in the input bound to ServiceAccount `namespace/name`. */
function rolesBoundTo(
  objects: readonly ManifestObject[],
  namespace: string | undefined,
  name: string,
): ManifestObject[] {
  const roles: ManifestObject[] = [];
  for (const binding of objects) {
    if (binding.kind !== "ClusterRoleBinding" && binding.kind !== "RoleBinding") continue;
    const bound = asArray(binding.body.subjects).some((entry) => {
      const subject = asRecord(entry);
      return (
        subject.kind === "ServiceAccount" &&
        subject.name === name &&
        sameNamespace(asString(subject.namespace) ?? binding.namespace, namespace)
      );
    });
    if (!bound) continue;
    const ref = asRecord(binding.body.roleRef);
    const kind = asString(ref.kind);
    const roleName = asString(ref.name);
    for (const role of objects) {
      if (role.kind !== kind || role.name !== roleName) continue;
      if (kind === "Role" && !sameNamespace(role.namespace, binding.namespace)) continue;
      roles.push(role);
    }
  }
  return roles;
}

function rulesYaml(missing: readonly Needed[]): string {
  const lines: string[] = [];
  for (const group of ["", "authentication.k8s.io"]) {
    const names = missing.filter((m) => m.group === group).map((m) => JSON.stringify(m.resource));
    if (names.length > 0)
      lines.push(
        `- apiGroups: [${JSON.stringify(group)}]\n  resources: [${names.join(", ")}]\n  verbs: ["impersonate"]`,
      );
  }
  return lines.join("\n");
}

export const gatewayImpersonationRbac: Rule = {
  id: "gateway-impersonation-rbac",
  severity: "warning",
  title: "the gateway's ClusterRole lacks an impersonation right its settings need",
  description:
    "The API server authorizes each Impersonate-* item the gateway sends: the user, the groups, the uid and every " +
    "extra key (userextras/<key>). kube-oidc-proxy's ClusterRole grants users, groups and userextras/scopes, not " +
    "userextras/authentication.kubernetes.io/credential-id, which the gateway sets from a token's jti as " +
    "kube-apiserver does. The gateway then leaves that extra out (and says so in its log and /readyz); a missing " +
    "users or groups right refuses every request with 403.",
  remediation:
    'Add the rule the finding gives to the ClusterRole bound to the gateway\'s ServiceAccount, e.g. apiGroups: ["authentication.k8s.io"], ' +
    'resources: ["userextras/authentication.kubernetes.io/credential-id"], verbs: ["impersonate"].',
  *check({ objects }) {
    const hits: RuleHit[] = [];
    for (const workload of workloadsOf(objects)) {
      for (const container of containersOf(workload)) {
        if (!isGateway(container)) continue;
        const needed = neededBy(gatewaySettings(container, objects).settings);
        if (needed.length === 0) continue;
        const account = serviceAccountName(workload);
        const roles = rolesBoundTo(objects, workload.namespace, account);
        if (roles.length === 0) continue;
        const rules = roles.flatMap((role) => asArray(role.body.rules).map(asRecord));
        const missing = needed.filter((right) => !rules.some((rule) => grants(rule, right)));
        if (missing.length === 0) continue;
        const role = roles[0] as ManifestObject;
        const gateway = `${workload.object.kind} ${workload.object.name}`;
        hits.push({
          object: role,
          path: ["rules"],
          message:
            `${role.kind} ${role.name}, bound to ServiceAccount ${account} of ${gateway}, does not grant impersonate on ` +
            `${missing.map((m) => `${m.resource} (${m.why})`).join(", ")}; ` +
            (missing.every((m) => m.resource.startsWith("userextras/"))
              ? "the gateway will leave those extras out of every request"
              : "the API server will refuse the gateway's requests with 403"),
          fix: `Add to ${role.kind} ${role.name}'s rules:\n${rulesYaml(missing)}`,
        });
      }
    }
    yield* hits;
  },
};
