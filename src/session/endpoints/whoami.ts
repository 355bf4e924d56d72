// GET /oauth2/whoami (with --whoami-page): the seed's "look at the id token" step without
// patching a deployment or pasting a token into a website. Shows the decoded claims (never the
// raw token), the identity the API server sees after the gateway's mapping, the time left, and
// what that identity may do in a namespace (a SelfSubjectRulesReview asked as the user).
import { randomBytes } from "node:crypto";
import { decodeJwt } from "jose";
import { impersonationHeaders } from "../../apiserver/impersonation-headers.ts";
import type { UserInfo } from "../../authn/user.ts";
import { postToApiServer } from "../../upstream/api-request.ts";
import { isNavigation } from "../browser-request.ts";
import { type BrowserRequest, currentSession, type SessionContext } from "../context.ts";
import { SessionError } from "../errors.ts";
import { escapeHtml, type Response, redirect, sendHtml } from "../responses.ts";

interface ResourceRule {
  readonly verbs: string[];
  readonly apiGroups?: string[];
  readonly resources?: string[];
  readonly resourceNames?: string[];
}
interface RulesReview {
  readonly status?: {
    readonly resourceRules?: ResourceRule[];
    readonly nonResourceRules?: { verbs: string[]; nonResourceURLs: string[] }[];
    readonly incomplete?: boolean;
    readonly evaluationError?: string;
  };
}

async function rulesFor(context: SessionContext, user: UserInfo, namespace: string): Promise<RulesReview | string> {
  try {
    return await postToApiServer<RulesReview>(
      context.upstream,
      "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
      { apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectRulesReview", spec: { namespace } },
      10_000,
      impersonationHeaders(user),
    );
  } catch (error) {
    return (error as Error).message;
  }
}

const list = (values: readonly string[] | undefined) =>
  values?.length ? values.map((v) => `<code>${escapeHtml(v || '""')}</code>`).join(" ") : "—";

function formatDuration(ms: number): string {
  if (ms <= 0) return "expired";
  const seconds = Math.floor(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h ? `${h}h` : ""}${h || m ? `${m}m` : ""}${s}s`;
}

export async function whoamiPage(context: SessionContext, req: BrowserRequest, res: Response): Promise<void> {
  const asked = new URLSearchParams((req.url ?? "").split("?")[1] ?? "").get("namespace");
  const record = await currentSession(context, req);
  if (!record) {
    // Back to this page after the login, with the namespace the user asked about (only that:
    // the return path is ours to build, not a copy of whatever the query held).
    const page = asked ? `/oauth2/whoami?namespace=${encodeURIComponent(asked)}` : "/oauth2/whoami";
    if (isNavigation(req.method ?? "GET", req.headers))
      return redirect(res, `/oauth2/start?rd=${encodeURIComponent(page)}`);
    throw new SessionError("NO_SESSION", "no session");
  }
  const fresh = await context.refresher.fresh(record);
  const { user } = await context.authenticator.authenticate(fresh.idToken);
  const claims = decodeJwt(fresh.idToken);
  const namespace = asked || "default";
  const rules = await rulesFor(context, user, namespace);
  const now = Date.now();
  const nonce = randomBytes(16).toString("base64");

  const claimRows = Object.entries(claims)
    .map(([name, value]) => {
      const shown =
        typeof value === "number" && ["exp", "iat", "nbf", "auth_time"].includes(name)
          ? `${value} (${new Date(value * 1000).toISOString()})`
          : JSON.stringify(value);
      return `<tr><th>${escapeHtml(name)}</th><td><code>${escapeHtml(shown)}</code></td></tr>`;
    })
    .join("");
  const ruleRows =
    typeof rules === "string"
      ? `<tr><td colspan="4">could not ask the API server: ${escapeHtml(rules)}</td></tr>`
      : (rules.status?.resourceRules ?? [])
          .map(
            (r) =>
              `<tr><td>${list(r.verbs)}</td><td>${list(r.apiGroups)}</td><td>${list(r.resources)}</td><td>${list(r.resourceNames)}</td></tr>`,
          )
          .join("");
  const extraRows = Object.entries(user.extra)
    .map(([k, v]) => `<tr><th>extra ${escapeHtml(k)}</th><td>${list(v)}</td></tr>`)
    .join("");

  sendHtml(
    res,
    200,
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Who am I — kube-oidc-gateway</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#1d2430}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}th,td{border-bottom:1px solid #dde3ea;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{width:14rem;font-weight:600}code{font-size:.9em;background:#f2f5f8;padding:0 .25rem;border-radius:3px;word-break:break-all}
.identity{background:#eef6ee;border:1px solid #b9dcb9;border-radius:6px;padding:.75rem 1rem}.muted{color:#5b6675}</style></head><body>
<h1>Who am I</h1>
<p class="muted">What the Kubernetes API server sees for this browser session, through kube-oidc-gateway.</p>
<div class="identity"><table>
<tr><th>username</th><td id="username"><code>${escapeHtml(user.username)}</code></td></tr>
<tr><th>groups</th><td id="groups">${list(user.groups)}</td></tr>
${user.uid ? `<tr><th>uid</th><td><code>${escapeHtml(user.uid)}</code></td></tr>` : ""}${extraRows}
<tr><th>token expires</th><td><span id="time-left" data-expires="${fresh.idTokenExpiresAt}">in ${formatDuration(fresh.idTokenExpiresAt - now)}</span> (${new Date(fresh.idTokenExpiresAt).toISOString()}); refreshed automatically before then</td></tr>
<tr><th>session ends</th><td>${new Date(fresh.expiresAt).toISOString()} at the latest</td></tr>
</table></div>
<h2>What this identity may do in namespace <code>${escapeHtml(namespace)}</code></h2>
<table><tr><th>verbs</th><th>API groups</th><th>resources</th><th>names</th></tr>${ruleRows}</table>
${typeof rules !== "string" && rules.status?.incomplete ? `<p class="muted">The API server says this list is incomplete${rules.status.evaluationError ? `: ${escapeHtml(rules.status.evaluationError)}` : ""}.</p>` : ""}
<h2>Id token claims (decoded; the token itself is never shown)</h2>
<table>${claimRows}</table>
<p><a href="/oauth2/sign_out">Log out</a></p>
<script nonce="${nonce}">
const el = document.getElementById("time-left");
const at = Number(el.dataset.expires);
const fmt = (ms) => { if (ms <= 0) return "expired"; const s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60); return (h ? h + "h" : "") + (h || m ? m + "m" : "") + (s % 60) + "s"; };
setInterval(() => { el.textContent = "in " + fmt(at - Date.now()); }, 1000);
</script></body></html>`,
    { nonce },
  );
}
