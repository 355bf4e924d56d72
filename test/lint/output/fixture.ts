// One report shared by the output tests: the incident's broken network policies, linted from
// their fixture files, plus an awkward message for escaping.
import { join } from "node:path";
import { fixtures, lintFiles } from "../helpers.ts";

export const brokenPolicies = [
  join(fixtures, "incident", "broken", "netpol-service-port", "headlamp-networkpolicy.yaml"),
  join(fixtures, "incident", "broken", "netpol-service-port", "kube-oidc-proxy-networkpolicy.yaml"),
  join(fixtures, "incident", "fixed", "kube-oidc-proxy.yaml"),
];

export const report = lintFiles(brokenPolicies);
