// kube-apiserver's OIDC flags that break login. --authentication-config and any --oidc-* flag
// together make the API server exit at start ("authentication-config file and oidc-* flags are
// mutually exclusive", pkg/kubeapiserver/options/authentication.go). --oidc-issuer-url without
// --oidc-username-prefix prefixes every username with "<issuer>#" unless the claim is email
// (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#using-flags), which
// no RBAC binding written for plain names matches. And an unquoted `- --oidc-username-prefix=oidc:`
// in a container's args is a YAML mapping, not a string (a plain scalar ending in ':' is a key):
// the API server rejects the Pod; the Kubeapps guide quotes these arguments for that reason.
import { namesCredential, redacted } from "../credentials.ts";
import { asArray, asRecord, containersOf, isRecordWord, workloadsOf } from "../objects.ts";
import { apiServerFlagSets } from "../oidc-settings.ts";
import type { Rule, RuleHit } from "../rule.ts";

export const apiserverOidcFlags: Rule = {
  id: "apiserver-oidc-flags",
  severity: "error",
  title: "kube-apiserver OIDC flags that stop it or rename every user",
  description:
    "In a kube-apiserver static Pod, a kubeadm ClusterConfiguration (apiServer.extraArgs) or a kind Cluster's " +
    "kubeadmConfigPatches: --oidc-* flags combined with --authentication-config (the API server exits at start), or " +
    "--oidc-issuer-url without --oidc-username-prefix (usernames become '<issuer>#<claim>'; a warning). Also an " +
    "--oidc-* container argument left unquoted with a trailing ':', which YAML reads as a mapping.",
  remediation:
    "Use either --authentication-config or the --oidc-* flags, never both; set --oidc-username-prefix explicitly " +
    "(e.g. 'oidc:', or '-' for none) and write RBAC subjects with that prefix; quote arguments that end in ':'.",
  *check({ objects }) {
    yield* unquotedOidcArguments(objects);
    for (const set of apiServerFlagSets(objects)) {
      const oidc = [...set.flags].filter(([name]) => name.startsWith("oidc-"));
      const authenticationConfig = set.flags.get("authentication-config");
      const locate = (setting: { path: readonly (string | number)[]; position?: { line: number; column: number } }) =>
        setting.position ? { path: setting.path, position: setting.position } : { path: setting.path };
      if (authenticationConfig && oidc.length > 0) {
        const [firstName, first] = oidc[0] as (typeof oidc)[0];
        const hit: RuleHit = {
          object: set.object,
          ...locate(first),
          message:
            `${set.where} sets --authentication-config=${authenticationConfig.value} together with ` +
            `${oidc.map(([name]) => `--${name}`).join(", ")}; kube-apiserver refuses to start: "authentication-config ` +
            `file and oidc-* flags are mutually exclusive" (first: --${firstName})`,
          fix:
            "Move the issuer into the AuthenticationConfiguration file (jwt[].issuer, claimMappings) and remove every " +
            "--oidc-* flag, or drop --authentication-config.",
        };
        yield hit;
        continue;
      }
      const issuer = set.flags.get("oidc-issuer-url");
      if (!issuer || set.flags.has("oidc-username-prefix")) continue;
      const claim = set.flags.get("oidc-username-claim")?.value || "sub";
      if (claim === "email") continue;
      yield {
        object: set.object,
        ...locate(issuer),
        severity: "warning",
        message:
          `${set.where} sets --oidc-issuer-url=${issuer.value} without --oidc-username-prefix, so usernames from the ` +
          `${claim} claim become '${issuer.value}#<${claim}>' and RBAC subjects written as plain names never match`,
        fix: "Set --oidc-username-prefix explicitly ('oidc:' is common; '-' for none) and use it in RBAC subjects.",
      };
    }
  },
};

/**
 * An argument as it may be shown: the value of a flag whose name speaks of a secret, token,
 * password or key is replaced, as lint output ends up in CI logs and code-scanning alerts.
 */
export function redactArgument(argument: string): string {
  const match = /^(--?[^=\s]*=)(.*)$/s.exec(argument);
  return match?.[1] && namesCredential(match[1]) ? `${match[1]}${redacted}` : argument;
}

function* unquotedOidcArguments(objects: Parameters<typeof workloadsOf>[0]): Generator<RuleHit> {
  for (const workload of workloadsOf(objects)) {
    for (const container of containersOf(workload)) {
      for (const field of ["command", "args"]) {
        for (const [index, word] of asArray(container.body[field]).entries()) {
          if (!isRecordWord(word)) continue;
          const key = Object.keys(asRecord(word))[0] ?? "";
          if (!/^--?oidc-/.test(key)) continue;
          const shown = redactArgument(key);
          yield {
            object: workload.object,
            path: [...container.path, field, index],
            message:
              `argument ${shown}: of container ${container.name} is a YAML mapping, not a string: a plain scalar ending ` +
              "in ':' is read as a key, so the API server rejects the Pod (cannot unmarshal object into string)",
            fix: `Quote the argument: - "${shown}:"`,
          };
        }
      }
    }
  }
}
