// `kubectl auth whoami` along the path the user's requests take (through the gateway when there
// is one): SelfSubjectReview, GA since Kubernetes 1.28, answers with the identity the server
// authenticated, so a pass here is the server's word, not doctor's reading of a configuration.
import { type Check, fail, pass, skipped } from "../check.ts";
import { isUnavailable } from "../context.ts";

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
    const local = isUnavailable(verdict)
      ? verdict.unavailable
      : verdict.accepted
        ? `the configuration doctor was given accepts it as ${verdict.user?.username}${verdict.gatewayRefusal ? `, but the gateway's policy refuses that identity [${verdict.gatewayRefusal.code}]` : ""}`
        : `the configuration doctor was given refuses it too (${verdict.refusal?.code}: ${verdict.refusal?.check})`;
    return fail(
      `${review.via} answers HTTP ${review.status} to the token`,
      [`SelfSubjectReview through ${review.via}: HTTP ${review.status}: ${review.message ?? ""}`, local],
      !isUnavailable(verdict) && verdict.accepted && verdict.gatewayRefusal
        ? verdict.gatewayRefusal.fix
        : !isUnavailable(verdict) && verdict.accepted
          ? `${review.via} is configured differently from what doctor was given: compare its --oidc-* flags or AuthenticationConfiguration with the ones passed here, and read its log for the refusal reason`
          : ((isUnavailable(verdict) ? undefined : (verdict.refusal?.fix ?? verdict.gatewayRefusal?.fix)) ??
            "`kube-oidc-gateway token` with the same configuration shows the refusing check for this token"),
    );
  },
};
