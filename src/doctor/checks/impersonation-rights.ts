// The gateway's own ServiceAccount may impersonate everything its settings will send: users,
// groups, uids and userextras/<key> for every extra key (credential-id included), asked with
// SubjectAccessReviews for that ServiceAccount as kube-apiserver's impersonation filter would
// authorize it (k8s.io/apiserver@v0.37.2 pkg/endpoints/filters/impersonation/impersonation.go).
// The same rights `serve` checks at start (src/server/impersonation-rights.ts); here they are
// asked from outside, before or after deploying, for each kube-oidc-gateway Deployment.
import type { JwtAuthenticatorConfig } from "../../authn/jwt-config.ts";
import type { ServeConfig } from "../../config/serve-config.ts";
import {
  clusterRoleRules,
  type ImpersonationRight,
  neededImpersonationRights,
  rightName,
} from "../../server/impersonation-rights.ts";
import { postToApiServer } from "../../upstream/api-request.ts";
import { type Check, fail, pass, skipped, warn } from "../check.ts";
import { isUnavailable } from "../context.ts";
import type { Workload } from "../workloads.ts";

const on = (value: string | undefined) => value !== undefined && value !== "false";

/** What a gateway with these container flags impersonates, as `serve` works it out. */
export function neededByWorkload(flags: ReadonlyMap<string, string>): ImpersonationRight[] {
  const oidc = flags.has("oidc-issuer-url") || flags.has("authentication-config");
  const jwt: JwtAuthenticatorConfig[] = oidc
    ? [
        {
          issuer: { url: flags.get("oidc-issuer-url") ?? "", audiences: [] },
          claimMappings: {
            username: { claim: flags.get("oidc-username-claim") ?? "sub", prefix: "" },
            // An --authentication-config file is on the Pod's filesystem: its mappings are unknown here.
            ...(flags.has("oidc-groups-claim") || flags.has("authentication-config")
              ? { groups: { claim: flags.get("oidc-groups-claim") ?? "groups", prefix: "" } }
              : {}),
          },
          requiredClaims: {},
          signingAlgorithms: [],
        },
      ]
    : [];
  const extraUserHeaders: Record<string, string[]> = {};
  for (const pair of (flags.get("extra-user-headers") ?? "").split(",")) {
    const [key, value] = pair.split("=");
    const name = key?.trim();
    if (name) extraUserHeaders[name] = [...(extraUserHeaders[name] ?? []), value ?? ""];
  }
  const config: Pick<ServeConfig, "authentication" | "proxy"> = {
    authentication: {
      jwt,
      allowSystemIdentities: false,
      tokenCacheTtlMs: 0,
      nestedImpersonation: on(flags.get("allow-nested-impersonation")),
    },
    proxy: {
      disableImpersonation: on(flags.get("disable-impersonation")),
      extraUserHeaderClientIp: on(flags.get("extra-user-header-client-ip")),
      extraUserHeaders,
      flushIntervalMs: 0,
    },
  };
  return neededImpersonationRights(config);
}

interface Answer {
  readonly right: ImpersonationRight;
  readonly allowed: boolean;
  readonly detail: string;
  /** Set when the review could not be asked (e.g. doctor's user may not create SubjectAccessReviews). */
  readonly error?: string;
}

export const impersonationRights: Check = {
  id: "impersonation-rights",
  title: "the gateway's ServiceAccount may impersonate what its settings send (SubjectAccessReview)",
  progress: "asking what the gateway's ServiceAccount may impersonate (SubjectAccessReview)",
  async run(context) {
    const cluster = await context.cluster();
    if (isUnavailable(cluster)) return skipped(cluster.unavailable);
    const workloads = await context.workloads();
    if (isUnavailable(workloads)) return skipped(workloads.unavailable);
    const gateways = workloads.filter((w: Workload) => w.role === "kube-oidc-gateway");
    if (gateways.length === 0) return skipped("no kube-oidc-gateway Deployment found");
    const evidence: string[] = [];
    const missing: { workload: Workload; account: string; rights: ImpersonationRight[] }[] = [];
    for (const w of gateways) {
      const deployment = await context.adminGet(
        `/apis/apps/v1/namespaces/${encodeURIComponent(w.namespace)}/deployments/${encodeURIComponent(w.name)}`,
      );
      if (isUnavailable(deployment) || deployment.status !== 200) {
        evidence.push(`${w.ref}: cannot read its ServiceAccount`);
        continue;
      }
      const spec = (deployment.body as { spec?: { template?: { spec?: Record<string, unknown> } } }).spec?.template
        ?.spec;
      const name = String(spec?.serviceAccountName ?? spec?.serviceAccount ?? "default");
      const account = `system:serviceaccount:${w.namespace}:${name}`;
      const rights = neededByWorkload(w.flags);
      const answers: Answer[] = await Promise.all(
        rights.map(async (right) => {
          try {
            const review = await postToApiServer<{ status?: { allowed?: boolean; reason?: string } }>(
              cluster,
              "/apis/authorization.k8s.io/v1/subjectaccessreviews",
              {
                apiVersion: "authorization.k8s.io/v1",
                kind: "SubjectAccessReview",
                spec: {
                  user: account,
                  groups: ["system:serviceaccounts", `system:serviceaccounts:${w.namespace}`, "system:authenticated"],
                  resourceAttributes: {
                    verb: "impersonate",
                    group: right.group,
                    resource: right.resource,
                    ...(right.extraKey === undefined ? {} : { subresource: right.extraKey }),
                  },
                },
              },
              context.options.checkTimeoutMs,
            );
            return {
              right,
              allowed: review.status?.allowed === true,
              detail: review.status?.reason || (review.status?.allowed ? "" : "no rule allows it"),
            };
          } catch (error) {
            return { right, allowed: false, detail: "", error: (error as Error).message };
          }
        }),
      );
      const unasked = answers.find((a) => a.error !== undefined);
      if (unasked)
        return skipped(`cannot ask what ${w.ref}'s ServiceAccount may impersonate: ${unasked.error}`, [
          `doctor's user needs create on subjectaccessreviews.authorization.k8s.io`,
        ]);
      for (const a of answers)
        evidence.push(
          `${a.allowed ? "yes" : "no "}  ${w.ref} (ServiceAccount ${w.namespace}/${name}) impersonate ${rightName(a.right)}: ${a.right.why}${a.detail ? ` (${a.detail})` : ""}`,
        );
      const denied = answers.filter((a) => !a.allowed).map((a) => a.right);
      if (denied.length > 0) missing.push({ workload: w, account: `${w.namespace}/${name}`, rights: denied });
    }
    if (missing.length === 0) {
      return evidence.length === 0
        ? skipped("no gateway's ServiceAccount could be read", [])
        : pass("every gateway's ServiceAccount may impersonate what its settings send", evidence);
    }
    const fix = missing
      .map(
        (m) =>
          `add to the ClusterRole bound to ServiceAccount ${m.account} (${m.workload.ref}):\n${clusterRoleRules(m.rights)}`,
      )
      .join("\n");
    const summary = missing
      .map((m) => `${m.workload.ref} may not impersonate ${m.rights.map(rightName).join(", ")}`)
      .join("; ");
    const onlyExtras = missing.every((m) => m.rights.every((r) => r.resource === "userextras"));
    return onlyExtras
      ? warn(`${summary}: the gateway leaves those extras out of every request`, evidence, fix)
      : fail(`${summary}: the API server refuses its requests with 403`, evidence, fix);
  },
};
