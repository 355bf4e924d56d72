// `kubectl auth whoami` along the path the user's requests take (through the gateway when there
// is one): SelfSubjectReview, GA since Kubernetes 1.28, answers with the identity the server
// authenticated, so a pass here is the server's word, not doctor's reading of a configuration.
// A refusal is blamed on the server only when that server is meant to validate the token: with a
// gateway Deployment in the cluster, no --gateway-url and an API server not known to validate OIDC
// tokens itself, the API server's 401 is what a working gateway setup looks like from here.
import { type Check, fail, pass, skipped, warn } from "../check.ts";
import { isUnavailable } from "../context.ts";
import { urlFix } from "./apiserver-oidc.ts";

export const whoami: Check = {
  id: "whoami",
  title: "the user's requests are authenticated (SelfSubjectReview)",
  progress: "asking who the token is (SelfSubjectReview)",
  async run(context) {
    if (!(await context.token()))
      return skipped("no token: pass --token-file or --token-env, or a --kubeconfig whose user logs in with OIDC");
    const review = await context.selfSubjectReview(context.userPath());
    if (isUnavailable(review)) return skipped(review.unavailable);
    if (review.status === 201 && review.user) {
      const u = review.user;
      return pass(`${review.via} authenticates the token as ${JSON.stringify(u.username)}`, [
        `username: ${u.username}`,
        ...(u.uid ? [`uid: ${u.uid}`] : []),
        `groups: ${(u.groups ?? []).join(", ") || "(none)"}`,
        ...Object.entries(u.extra ?? {}).map(([k, v]) => `extra ${k}: ${v.join(", ")}`),
      ]);
    }
    if (review.status === 404) {
      return skipped(
        `${review.via} has no SelfSubjectReview API (HTTP 404): Kubernetes before 1.28 serves it only as v1beta1 or v1alpha1`,
      );
    }
    const verdict = await context.verdict();
    if (![401, 403].includes(review.status)) {
      return fail(
        `${review.via} answers HTTP ${review.status} to the token`,
        [`SelfSubjectReview through ${review.via}: HTTP ${review.status}: ${review.message ?? ""}`],
        "that is not an authentication answer: read the gateway's /readyz on its health port and its log (a 503 means it cannot reach its issuer or the API server yet)",
      );
    }
    const oidc = await context.oidc();
    const deployed = await context.gatewayDeployments();
    if (
      review.via === "the API server" &&
      !context.options.gateway &&
      deployed.length > 0 &&
      (await context.apiServerValidatesOidc()) !== true &&
      (isUnavailable(verdict) || verdict.accepted)
    ) {
      return warn(
        `the API server answers HTTP ${review.status} to the token, and it is not what validates OIDC tokens here: ${deployed.join(", ")} is, and doctor was not given its URL`,
        [
          `SelfSubjectReview to the API server (no --gateway-url given): HTTP ${review.status}: ${review.message ?? ""}`,
          `in the cluster: ${deployed.join(", ")}`,
          ...(isUnavailable(verdict)
            ? [verdict.unavailable]
            : [`${isUnavailable(oidc) ? "the configuration" : oidc.source} accepts it as ${verdict.user?.username}`]),
        ],
        `${urlFix}; a client that sends OIDC tokens to the API server itself must be pointed at the gateway instead`,
      );
    }
    const source = isUnavailable(oidc)
      ? "the configuration"
      : oidc.given
        ? `what doctor was given (${oidc.source})`
        : oidc.source;
    const local = isUnavailable(verdict)
      ? verdict.unavailable
      : verdict.accepted
        ? `${source} accepts it as ${verdict.user?.username}${verdict.gatewayRefusal ? `, but the gateway's policy refuses that identity [${verdict.gatewayRefusal.code}]` : ""}`
        : `${source} refuses it too (${verdict.refusal?.code}: ${verdict.refusal?.check})`;
    return fail(
      `${review.via} answers HTTP ${review.status} to the token`,
      [`SelfSubjectReview through ${review.via}: HTTP ${review.status}: ${review.message ?? ""}`, local],
      !isUnavailable(verdict) && verdict.accepted && verdict.gatewayRefusal
        ? verdict.gatewayRefusal.fix
        : !isUnavailable(verdict) && verdict.accepted
          ? `${review.via} refuses a token that ${source} accepts: compare ${review.via}'s --oidc-* flags or AuthenticationConfiguration with ${isUnavailable(oidc) || oidc.given ? "the ones passed here" : "those"}, and read its log for the refusal reason`
          : ((isUnavailable(verdict) ? undefined : (verdict.refusal?.fix ?? verdict.gatewayRefusal?.fix)) ??
            "`kube-oidc-gateway token` with the same configuration shows the refusing check for this token"),
    );
  },
};
