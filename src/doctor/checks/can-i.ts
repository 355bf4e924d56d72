// `kubectl auth can-i` for what a dashboard does on its first screens, asked as the user along
// the user's path (SelfSubjectAccessReview): authenticated but forbidden is the other half of
// "logged in and then thrown out".
import { type Check, fail, pass, skipped, warn } from "../check.ts";
import { isUnavailable } from "../context.ts";

/** Resources without a namespace, asked at cluster scope (`kubectl api-resources --namespaced=false`). */
const clusterScoped = new Set([
  "namespaces",
  "nodes",
  "persistentvolumes",
  "clusterroles",
  "clusterrolebindings",
  "customresourcedefinitions",
  "storageclasses",
  "ingressclasses",
  "priorityclasses",
  "apiservices",
  "mutatingwebhookconfigurations",
  "validatingwebhookconfigurations",
  "certificatesigningrequests",
]);

export const canI: Check = {
  id: "can-i",
  title: "the user may do what a dashboard needs (SelfSubjectAccessReview)",
  progress: "asking what the user may do (SelfSubjectAccessReview)",
  async run(context) {
    const review = await context.selfSubjectReview(context.userPath());
    if (isUnavailable(review)) return skipped(review.unavailable);
    if (review.status !== 201) return skipped(`the token is not authenticated (HTTP ${review.status}); see whoami`);
    const namespace = context.options.namespace;
    const answers = await Promise.all(
      context.options.accessChecks.map(async (access) => {
        const namespaced = !clusterScoped.has(access.resource);
        const response = await context.postAsUser("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectAccessReview",
          spec: {
            resourceAttributes: {
              verb: access.verb,
              resource: access.resource,
              group: access.group,
              ...(namespaced ? { namespace } : {}),
            },
          },
        });
        const what = `${access.verb} ${access.resource}${access.group ? `.${access.group}` : ""}${namespaced ? ` in ${namespace}` : ""}`;
        if (isUnavailable(response)) return { what, namespaced, allowed: false, detail: response.unavailable };
        const status = (response.body as { status?: { allowed?: boolean; reason?: string } })?.status;
        if (response.status !== 201) return { what, namespaced, allowed: false, detail: `HTTP ${response.status}` };
        return {
          what,
          namespaced,
          allowed: status?.allowed === true,
          detail: status?.reason || (status?.allowed ? "" : "no rule allows it"),
        };
      }),
    );
    const evidence = answers.map((a) => `${a.allowed ? "yes" : "no "}  ${a.what}${a.detail ? ` (${a.detail})` : ""}`);
    const denied = answers.filter((a) => !a.allowed);
    const user = JSON.stringify(review.user?.username);
    if (denied.length === 0) return pass(`${user} may do all ${answers.length} things checked`, evidence);
    const clusterWide = denied.some((d) => !d.namespaced);
    const fix = `${clusterWide ? "bind a ClusterRole with a ClusterRoleBinding" : `bind a Role or ClusterRole with a RoleBinding in ${namespace}`} granting ${denied.map((d) => d.what).join(", ")} to User ${user} or one of its groups`;
    if (denied.length === answers.length) return fail(`${user} may do none of what a dashboard needs`, evidence, fix);
    return warn(`${user} may not ${denied.map((d) => d.what).join(", ")}`, evidence, fix);
  },
};
