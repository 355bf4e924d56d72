// The usernames kube-apiserver gives a meaning to: ServiceAccounts and nodes. Both its
// impersonation filter (which adds their groups to an impersonated identity) and its constrained
// impersonation modes classify a username with these rules, so the gateway does too, for the
// identities it forwards (impersonation-headers.ts) and the ones clients ask for
// (src/proxy/nested-impersonation.ts).
// k8s.io/apimachinery@v0.37.2 pkg/api/validation/generic.go: ValidateNamespaceName is NameIsDNSLabel
// (IsDNS1123Label, at most 63 characters), ValidateServiceAccountName and node names
// NameIsDNSSubdomain (IsDNS1123Subdomain, at most 253).
const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * serviceaccount.SplitUsername (k8s.io/apiserver@v0.37.2 pkg/authentication/serviceaccount/util.go):
 * "system:serviceaccount:<namespace>:<name>", exactly one ":" after the prefix, a valid namespace
 * and ServiceAccount name. Undefined for any other username.
 */
export function splitServiceAccountUsername(username: string): { namespace: string; name: string } | undefined {
  const prefix = "system:serviceaccount:";
  if (!username.startsWith(prefix)) return undefined;
  const parts = username.slice(prefix.length).split(":");
  if (parts.length !== 2) return undefined;
  const [namespace = "", name = ""] = parts;
  if (namespace.length > 63 || !dns1123Label.test(namespace)) return undefined;
  if (name.length > 253 || !dns1123Subdomain.test(name)) return undefined;
  return { namespace, name };
}

/** The namespace of a ServiceAccount username (SplitUsername), or undefined. */
export function serviceAccountNamespace(username: string): string | undefined {
  return splitServiceAccountUsername(username)?.namespace;
}

/** isNodeUsername (k8s.io/apiserver@v0.37.2 pkg/endpoints/filters/impersonation/mode.go). */
export function isNodeUsername(username: string): boolean {
  const prefix = "system:node:";
  if (!username.startsWith(prefix)) return false;
  const name = username.slice(prefix.length);
  return name.length <= 253 && dns1123Subdomain.test(name);
}

/** The node name of a node username (isNodeUsername), or undefined. */
export function nodeName(username: string): string | undefined {
  return isNodeUsername(username) ? username.slice("system:node:".length) : undefined;
}
