// Every lint rule, in the order --help and the docs list them.
import type { Rule, RuleInfo } from "../rule.ts";
import { apiClientOnSessionPort } from "./api-client-on-session-port.ts";
import { apiserverOidcFlags } from "./apiserver-oidc-flags.ts";
import { automountOffNoApiVolume } from "./automount-off-no-api-volume.ts";
import { caBundleIncomplete } from "./ca-bundle-incomplete.ts";
import { cnpToservicesApiserver } from "./cnp-toservices-apiserver.ts";
import { cookieRefresh } from "./cookie-refresh.ts";
import { gatewayImpersonationRbac } from "./gateway-impersonation-rbac.ts";
import { issuerEgressBlocked } from "./issuer-egress-blocked.ts";
import { netpolServicePort } from "./netpol-service-port.ts";
import { probeOnAuthEndpoint } from "./probe-on-auth-endpoint.ts";
import { rbacSubjectPrefix } from "./rbac-subject-prefix.ts";
import { saPathOvermount } from "./sa-path-overmount.ts";
import { sslCertFileIneffective } from "./ssl-cert-file-ineffective.ts";
import { unknownRule } from "./unknown-rule.ts";
import { unreadInput } from "./unread-input.ts";
import { yamlSyntax } from "./yaml-syntax.ts";

/** The rules that check manifests. */
export const rules: readonly Rule[] = [
  netpolServicePort,
  issuerEgressBlocked,
  cnpToservicesApiserver,
  saPathOvermount,
  automountOffNoApiVolume,
  sslCertFileIneffective,
  apiClientOnSessionPort,
  probeOnAuthEndpoint,
  caBundleIncomplete,
  cookieRefresh,
  apiserverOidcFlags,
  rbacSubjectPrefix,
  gatewayImpersonationRbac,
];

/** Findings lint itself reports (unparseable documents, inputs it cannot check, unknown ids in annotations). */
export const builtinRules: readonly RuleInfo[] = [yamlSyntax, unreadInput, unknownRule];

/** Every id a config file or annotation may name. */
export const allRules: readonly RuleInfo[] = [...rules, ...builtinRules];

export function ruleInfo(id: string): RuleInfo | undefined {
  return allRules.find((r) => r.id === id);
}
