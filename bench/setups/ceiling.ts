// ceiling: the client sends kube-apiserver what an impersonating proxy sends it — the proxy's own
// credential and Impersonate-User / Impersonate-Group for the user — with no proxy in between. The
// API server pays for the impersonation checks (an authorization check per header) on every request
// whoever sends them, so no impersonating proxy can be faster than this (issue 21).
import { escapeExtraKey } from "../../src/apiserver/impersonation-headers.ts";
import { selfSubjectReview } from "../../testbed/self-subject-review.ts";
import type { Setup } from "./setup.ts";

export interface Impersonated {
  readonly username: string;
  readonly groups: readonly string[];
  readonly extra: Readonly<Record<string, readonly string[]>>;
}

/**
 * The identity the gateway impersonates for `token`: a SelfSubjectReview through the gateway
 * answers with what kube-apiserver saw, i.e. the gateway's Impersonate-* headers.
 */
export async function impersonatedIdentity(gatewayUrl: string, ca: string, token: string): Promise<Impersonated> {
  const { status, user } = await selfSubjectReview(gatewayUrl, ca, token);
  if (!user) throw new Error(`SelfSubjectReview through the gateway: HTTP ${status}`);
  return { username: user.username, groups: user.groups ?? [], extra: user.extra ?? {} };
}

/** The headers an impersonating proxy sends for `who` (repeated lines joined by ", ", as Node sends them). */
export function impersonationHeaders(credential: string, who: Impersonated): Record<string, string> {
  // The API server adds system:authenticated to an impersonated user itself.
  const groups = who.groups.filter((g) => g !== "system:authenticated");
  const headers: Record<string, string> = {
    authorization: `Bearer ${credential}`,
    "impersonate-user": who.username,
  };
  if (groups.length) headers["impersonate-group"] = groups.join(", ");
  for (const [key, values] of Object.entries(who.extra)) {
    headers[`impersonate-extra-${escapeExtraKey(key)}`] = values.join(", ");
  }
  return headers;
}

export function ceilingSetup(options: { api: string; credential: string; who: Impersonated }): Setup {
  const headers = impersonationHeaders(options.credential, options.who);
  const endpoint = { url: options.api, pids: () => [], headers };
  return {
    name: "ceiling",
    // The static stand-in ignores credentials: there the ceiling is direct.
    targets: ["api"],
    endpoints: { static: endpoint, api: endpoint },
    allPids: () => [],
    description: `no proxy: the gateway's ServiceAccount token with the gateway's Impersonate-* headers (user ${options.who.username}, ${options.who.groups.length} groups, ${Object.keys(options.who.extra).length} extra keys), straight to kube-apiserver`,
    stop: async () => {},
  };
}
