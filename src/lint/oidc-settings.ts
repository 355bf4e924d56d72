// Where an input configures OIDC, and the usernames and groups that configuration produces.
// Read from: kube-apiserver's flags (a static Pod, kubeadm's ClusterConfiguration, the
// kubeadm-config ConfigMap, kind's kubeadmConfigPatches), kube-oidc-proxy and kube-oidc-gateway
// containers (the same --oidc-* flags; for the gateway also its KOG_* variables and its --config
// file in a ConfigMap of the input, see gateway-config.ts), and AuthenticationConfiguration
// documents (apiserver.config.k8s.io), on their own or inside a ConfigMap.
import { gatewaySettings, isGateway } from "./gateway-config.ts";
import type { ManifestObject, Path, Position } from "./manifests.ts";
import {
  asArray,
  asRecord,
  asString,
  type Container,
  commandLineFlags,
  containersOf,
  type Json,
  runs,
  workloadOf,
} from "./objects.ts";

export interface FlagSetting {
  readonly value: string;
  readonly path: Path;
  readonly position?: Position;
}

/** One place that sets kube-apiserver flags. */
export interface ApiServerFlags {
  readonly object: ManifestObject;
  /** How people call that place, e.g. "the kube-apiserver container" or "kubeadmConfigPatches[0]". */
  readonly where: string;
  /** Flag name (without dashes) → its last setting. */
  readonly flags: ReadonlyMap<string, FlagSetting>;
}

const kubeApiServer = /^kube-apiserver$/;

export function apiServerFlagSets(objects: readonly ManifestObject[]): ApiServerFlags[] {
  const result: ApiServerFlags[] = [];
  for (const object of objects) {
    const workload = workloadOf(object);
    if (workload) {
      for (const container of containersOf(workload)) {
        if (!runs(container, kubeApiServer)) continue;
        result.push({ object, where: `container ${container.name}`, flags: containerFlags(container) });
      }
      continue;
    }
    if (object.kind === "ClusterConfiguration" && object.apiVersion.startsWith("kubeadm.k8s.io/")) {
      result.push({ object, where: "apiServer.extraArgs", flags: extraArgs(object.body, []) });
    }
    if (object.kind === "ConfigMap") {
      // kube-system/kubeadm-config keeps the ClusterConfiguration as a YAML string.
      for (const document of object.embedded(["data", "ClusterConfiguration"])) {
        const body = asRecord(document.body);
        if (body.kind !== "ClusterConfiguration") continue;
        const flags = extraArgs(body, [], (path) => document.position(path));
        result.push({ object, where: "data.ClusterConfiguration apiServer.extraArgs", flags });
      }
    }
    if (object.kind === "Cluster" && object.apiVersion.startsWith("kind.x-k8s.io/")) {
      const patchPaths: Path[] = asArray(object.body.kubeadmConfigPatches).map((_, i) => ["kubeadmConfigPatches", i]);
      asArray(object.body.nodes).forEach((node, n) => {
        asArray(asRecord(node).kubeadmConfigPatches).forEach((_, i) => {
          patchPaths.push(["nodes", n, "kubeadmConfigPatches", i]);
        });
      });
      for (const patchPath of patchPaths) {
        for (const document of object.embedded(patchPath)) {
          const body = asRecord(document.body);
          if (body.kind !== "ClusterConfiguration") continue;
          const flags = extraArgs(body, [], (path) => document.position(path));
          result.push({ object, where: `${patchPath.join(".")} apiServer.extraArgs`, flags });
        }
      }
    }
  }
  return result;
}

function containerFlags(container: Container): Map<string, FlagSetting> {
  const flags = new Map<string, FlagSetting>();
  for (const flag of commandLineFlags(container)) flags.set(flag.name, { value: flag.value ?? "", path: flag.path });
  return flags;
}

/**
 * kubeadm's apiServer.extraArgs: a map in v1beta3, a list of {name, value} in v1beta4
 * (https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4/#kubeadm-k8s-io-v1beta4-Arg).
 */
function extraArgs(body: Json, base: Path, locate?: (path: Path) => Position): Map<string, FlagSetting> {
  const flags = new Map<string, FlagSetting>();
  const args = asRecord(body.apiServer).extraArgs;
  const add = (name: string, value: string, path: Path) => {
    const full = [...base, ...path];
    flags.set(name.replace(/^--?/, ""), { value, path: full, ...(locate ? { position: locate(full) } : {}) });
  };
  if (Array.isArray(args)) {
    args.forEach((entry, index) => {
      const arg = asRecord(entry);
      const name = asString(arg.name);
      if (name !== undefined) add(name, asString(arg.value) ?? "", ["apiServer", "extraArgs", index, "name"]);
    });
  } else {
    for (const [name, value] of Object.entries(asRecord(args))) {
      add(name, asString(value) ?? "", ["apiServer", "extraArgs", name]);
    }
  }
  return flags;
}

// ---- Identity mappings ----------------------------------------------------------------------

/** How one authenticator turns a token into a username and groups. */
export interface IdentityMapping {
  readonly object: ManifestObject;
  /** Names the configuration in messages, e.g. "kube-oidc-proxy Deployment auth/kube-oidc-proxy". */
  readonly where: string;
  readonly issuer: string | undefined;
  /** The prefix usernames get; undefined when it cannot be known (a CEL expression). */
  readonly usernamePrefix: string | undefined;
  /** How the prefix was set, for messages: `--oidc-username-prefix=oidc:` or the default. */
  readonly usernamePrefixOrigin: string;
  /** The claim usernames come from (`sub` by default); undefined for a CEL expression. */
  readonly usernameClaim: string | undefined;
  readonly groupsClaim: string | undefined;
  readonly groupsPrefix: string | undefined;
}

type PrefixRule = "kube-apiserver" | "literal";

/** A flag's value and how it is set, for messages (`--oidc-username-prefix=oidc:`, a config file line). */
interface SettingText {
  readonly value: string;
  readonly origin: string;
}

/**
 * The username prefix from --oidc-* flags. kube-apiserver (and kube-oidc-gateway) turn an
 * unset prefix into "<issuer>#" unless the claim is email, and "-" into none
 * (pkg/kubeapiserver/options/authentication.go); kube-oidc-proxy used the value literally.
 */
function mappingFromFlags(
  object: ManifestObject,
  where: string,
  flags: ReadonlyMap<string, SettingText>,
  rule: PrefixRule,
): IdentityMapping | undefined {
  const get = (name: string) => flags.get(name)?.value;
  const issuer = get("oidc-issuer-url");
  if (!issuer) return undefined;
  const claim = get("oidc-username-claim") || "sub";
  const prefixSetting = flags.get("oidc-username-prefix");
  const raw = prefixSetting?.value;
  let usernamePrefix: string;
  let usernamePrefixOrigin: string;
  if (rule === "literal") {
    usernamePrefix = raw ?? "";
    usernamePrefixOrigin = raw ? (prefixSetting?.origin ?? "") : "no --oidc-username-prefix (no prefix)";
  } else if (raw === "-") {
    usernamePrefix = "";
    usernamePrefixOrigin = `${prefixSetting?.origin ?? ""} (no prefix)`;
  } else if (raw) {
    usernamePrefix = raw;
    usernamePrefixOrigin = prefixSetting?.origin ?? "";
  } else {
    usernamePrefix = claim === "email" ? "" : `${issuer}#`;
    usernamePrefixOrigin =
      claim === "email"
        ? "no --oidc-username-prefix with the email claim (no prefix)"
        : `no --oidc-username-prefix, so the default '${issuer}#'`;
  }
  const groupsClaim = get("oidc-groups-claim") || undefined;
  return {
    object,
    where,
    issuer,
    usernamePrefix,
    usernamePrefixOrigin,
    usernameClaim: claim,
    groupsClaim,
    groupsPrefix: groupsClaim ? (get("oidc-groups-prefix") ?? "") : undefined,
  };
}

const kubeOidcProxy = /^kube-oidc-proxy$/;

/** `--name=value` for flags read from a command line or extraArgs. */
const asFlagText = (name: string, value: string): SettingText => ({ value, origin: `--${name}=${value}` });

/** Every identity mapping the input configures. */
export function identityMappings(objects: readonly ManifestObject[]): IdentityMapping[] {
  const result: IdentityMapping[] = [];
  for (const set of apiServerFlagSets(objects)) {
    const flags = new Map([...set.flags].map(([name, setting]) => [name, asFlagText(name, setting.value)]));
    const mapping = mappingFromFlags(set.object, `kube-apiserver (${set.where})`, flags, "kube-apiserver");
    if (mapping) result.push(mapping);
  }
  for (const object of objects) {
    const workload = workloadOf(object);
    for (const container of workload ? containersOf(workload) : []) {
      const product = isGateway(container)
        ? "kube-oidc-gateway"
        : runs(container, kubeOidcProxy)
          ? "kube-oidc-proxy"
          : undefined;
      if (!product) continue;
      // The gateway merges flags over KOG_<FLAG> variables over its --config file, as serve does;
      // kube-oidc-proxy has flags only.
      const flags: ReadonlyMap<string, SettingText> =
        product === "kube-oidc-gateway"
          ? gatewaySettings(container, objects).settings
          : new Map(commandLineFlags(container).map((flag) => [flag.name, asFlagText(flag.name, flag.value ?? "")]));
      const rule = product === "kube-oidc-proxy" ? "literal" : "kube-apiserver";
      const mapping = mappingFromFlags(object, `${product} in ${object.kind} ${refOf(object)}`, flags, rule);
      if (mapping) result.push(mapping);
    }
    if (object.kind === "AuthenticationConfiguration") {
      result.push(...mappingsFromAuthenticationConfiguration(object, object.body, object.kind));
    }
    if (object.kind === "ConfigMap") {
      for (const key of Object.keys(asRecord(object.body.data))) {
        for (const document of object.embedded(["data", key])) {
          const body = asRecord(document.body);
          if (body.kind !== "AuthenticationConfiguration") continue;
          result.push(...mappingsFromAuthenticationConfiguration(object, body, `ConfigMap ${refOf(object)} (${key})`));
        }
      }
    }
  }
  return result;
}

/**
 * claimMappings of each jwt authenticator (k8s.io/apiserver/pkg/apis/apiserver/types.go):
 * username.prefix is required with username.claim and applied literally; an expression
 * computes the whole username, so its prefix cannot be known here.
 */
function mappingsFromAuthenticationConfiguration(object: ManifestObject, body: Json, where: string): IdentityMapping[] {
  return asArray(body.jwt).map((entry) => {
    const jwt = asRecord(entry);
    const issuer = asString(asRecord(jwt.issuer).url);
    const username = asRecord(asRecord(jwt.claimMappings).username);
    const groups = asRecord(asRecord(jwt.claimMappings).groups);
    const usernamePrefix = username.expression !== undefined ? undefined : (asString(username.prefix) ?? "");
    const groupsClaim = asString(groups.claim);
    return {
      object,
      where: `AuthenticationConfiguration in ${where}${issuer ? ` (issuer ${issuer})` : ""}`,
      issuer,
      usernamePrefix,
      usernamePrefixOrigin: `claimMappings.username.prefix: ${JSON.stringify(usernamePrefix ?? "")}`,
      usernameClaim: username.expression !== undefined ? undefined : asString(username.claim),
      groupsClaim,
      groupsPrefix: groupsClaim ? (asString(groups.prefix) ?? "") : undefined,
    };
  });
}

function refOf(object: ManifestObject): string {
  return `${object.namespace ? `${object.namespace}/` : ""}${object.name}`;
}
