// Does anything validate OIDC tokens for this cluster? kube-apiserver does only when started with
// --oidc-issuer-url or --authentication-config (the incident's first root cause); otherwise a
// gateway must be in front. Read from the API server's static Pod when permitted, else inferred
// by asking the API server about the user's token.
import { type Check, fail, pass, skipped, warn } from "../check.ts";
import { isUnavailable } from "../context.ts";

const fix =
  "put kube-oidc-gateway in front of the API server (no control-plane change: it impersonates the user) and point the dashboard at it, " +
  "or start kube-apiserver with --oidc-issuer-url/--oidc-client-id or --authentication-config";

export const apiserverOidc: Check = {
  id: "apiserver-oidc",
  title: "the API server or a gateway validates OIDC tokens",
  progress: "reading the API server's configuration",
  async run(context) {
    const gateway = context.options.gateway;
    const pod = await context.apiServerFlags();
    const evidence: string[] = [];
    if (!isUnavailable(pod)) {
      const configured = ["oidc-issuer-url", "authentication-config"].filter((f) => pod.flags.has(f));
      if (configured.length > 0) {
        return pass(
          `the API server validates OIDC tokens itself (${configured.map((f) => `--${f}`).join(", ")})`,
          configured.map((f) => `${pod.source}: --${f}=${pod.flags.get(f)}`),
        );
      }
      evidence.push(`${pod.source} has neither --oidc-issuer-url nor --authentication-config`);
      if (gateway)
        return pass(
          `the API server has no OIDC configuration; the gateway at ${gateway.url.origin} authenticates instead`,
          evidence,
        );
      return fail(
        "nothing validates OIDC tokens: the API server has no OIDC configuration and no gateway is in front",
        evidence,
        fix,
      );
    }
    evidence.push(`the API server's flags are not readable: ${pod.unavailable}`);
    if (gateway) {
      const review = await context.selfSubjectReview("gateway");
      if (isUnavailable(review)) {
        return warn(
          `a gateway is configured (${gateway.url.origin}) but did not answer`,
          [...evidence, review.unavailable],
          "see the netpath check",
        );
      }
      evidence.push(
        `SelfSubjectReview through the gateway: HTTP ${review.status}${review.user ? ` as ${review.user.username}` : ""}`,
      );
      return pass(`the gateway at ${gateway.url.origin} is in front of the API server and authenticates`, evidence);
    }
    if (!(await context.token())) {
      return skipped(
        "cannot tell: the API server's flags are not readable and no token was given to probe with",
        evidence,
      );
    }
    const direct = await context.selfSubjectReview("apiserver");
    if (isUnavailable(direct)) return skipped(`cannot tell: ${direct.unavailable}`, evidence);
    if (direct.status === 201) {
      return pass(`the API server authenticated the token itself as ${direct.user?.username}`, [
        ...evidence,
        "SelfSubjectReview to the API server: HTTP 201",
      ]);
    }
    evidence.push(`SelfSubjectReview to the API server: HTTP ${direct.status}: ${direct.message}`);
    const verdict = await context.verdict();
    if (!isUnavailable(verdict) && verdict.accepted) {
      const oidc = await context.oidc();
      evidence.push(
        `locally, under ${isUnavailable(oidc) ? "the given configuration" : oidc.source}, the token is valid for ${verdict.user?.username}`,
      );
      return fail(
        "the API server refuses a valid token and no gateway is in front: it has no OIDC authenticator for this issuer",
        evidence,
        fix,
      );
    }
    return skipped(
      `cannot tell: the API server refuses this token, and ${isUnavailable(verdict) ? verdict.unavailable : `so does the configuration (${verdict.refusal?.code})`}; the checks below say why`,
      evidence,
    );
  },
};
