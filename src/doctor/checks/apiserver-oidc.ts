// Does anything validate OIDC tokens for this cluster? kube-apiserver does only when started with
// --oidc-issuer-url or --authentication-config (the incident's first root cause); otherwise a
// gateway must be in front. Read from the API server's static Pod when permitted, else inferred
// by asking the API server about the user's token.
import { type Check, fail, pass, skipped, warn } from "../check.ts";
import { isUnavailable } from "../context.ts";
import { requestJson } from "../http.ts";

const fix =
  "put kube-oidc-gateway in front of the API server (no control-plane change: it impersonates the user) and point the dashboard at it, " +
  "or start kube-apiserver with --oidc-issuer-url/--oidc-client-id or --authentication-config";

export const urlFix =
  "pass --gateway-url (and --gateway-ca-file) so doctor checks the path the dashboard's requests take";

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
    } else {
      evidence.push(`the API server's flags are not readable: ${pod.unavailable}`);
    }

    if (gateway && !(await context.token())) {
      // Without a token: an anonymous request must be refused, which shows something authenticates.
      let answer: string;
      try {
        const response = await requestJson(new URL("/api", gateway.url), {
          ca: gateway.ca?.pem,
          timeoutMs: context.options.checkTimeoutMs,
        });
        answer = `HTTP ${response.status}`;
        evidence.push(`GET /api through the gateway without a token: ${answer}`);
        if (response.status === 401) {
          return pass(
            `the gateway at ${gateway.url.origin} is in front of the API server and refuses anonymous requests`,
            evidence,
          );
        }
      } catch (error) {
        answer = (error as Error).message;
        evidence.push(`GET /api through the gateway: ${answer}`);
      }
      return warn(
        `the gateway at ${gateway.url.origin} did not refuse an anonymous request (${answer})`,
        evidence,
        "see netpath; pass a token to check the gateway's authentication itself",
      );
    }
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
        `SelfSubjectReview through the gateway: HTTP ${review.status}${review.user ? ` as ${review.user.username}` : `: ${review.message}`}`,
      );
      if (![201, 401, 403].includes(review.status)) {
        return fail(
          `the gateway at ${gateway.url.origin} answers HTTP ${review.status} instead of authenticating`,
          evidence,
          "read the gateway's /readyz on its health port and its log: a 503 means it cannot reach its issuer or the API server yet",
        );
      }
      return pass(`the gateway at ${gateway.url.origin} is in front of the API server and authenticates`, evidence);
    }

    const deployed = await context.gatewayDeployments();
    if (!isUnavailable(pod)) {
      if (deployed.length > 0) {
        return warn(
          `the API server has no OIDC configuration; ${deployed.join(", ")} may be in front, but doctor was not given its URL`,
          evidence,
          urlFix,
        );
      }
      return fail(
        "nothing validates OIDC tokens: the API server has no OIDC configuration and no gateway is in front",
        evidence,
        fix,
      );
    }
    if (deployed.length > 0) evidence.push(`in the cluster: ${deployed.join(", ")} (doctor was not given its URL)`);
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
      if (deployed.length > 0) {
        return warn(
          "the API server refuses a valid token itself; a gateway Deployment exists, but doctor was not given its URL",
          evidence,
          urlFix,
        );
      }
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
