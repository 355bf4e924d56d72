// Writes charts/kube-oidc-gateway/values.schema.json: the chart's own values, described here,
// and `config`, generated from the `serve` flag table, so the chart accepts exactly the settings
// the program reads and a misspelt key fails `helm lint` and `helm install` instead of stopping
// the pods. Helm validates values against this file on lint, template, install and upgrade
// (https://helm.sh/docs/topics/charts/#schema-files). `npm test` checks the committed file is current.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FlagSpec } from "../src/config/flags.ts";
import { serveFlags } from "../src/config/serve-flags.ts";

type Schema = Record<string, unknown>;

/**
 * Settings the chart writes into config.yaml itself (ports that must agree with the container,
 * probes and Service; the mounted certificate; in-cluster API access), so values may not set
 * them. templates/_helpers.tpl refuses the same keys for installs that skip schema validation.
 */
export const chartManagedSettings: readonly string[] = [
  "config",
  "secure-port",
  "health-port",
  "api-port",
  "tls-cert-file",
  "tls-private-key-file",
  "kubeconfig",
];

/**
 * The Go durations `serve` parses (src/config/flags.ts parseDuration): one or more
 * <number><unit> with units ms, s, m, h, or a bare 0.
 */
export const durationPattern = "^(0|([0-9]+(\\.[0-9]+)?(ms|s|m|h))+)$";

function flagSchema(flag: FlagSpec, description = flag.help): Schema {
  const base: Schema = { description };
  switch (flag.type) {
    case "string":
      Object.assign(base, { type: "string" });
      break;
    case "bool":
      Object.assign(base, { type: "boolean" });
      break;
    case "int":
      Object.assign(base, { type: "integer" });
      break;
    case "duration":
      Object.assign(base, { type: "string", pattern: durationPattern });
      break;
    // Lists and maps take what serve's config file takes (src/config/flags.ts valuesFromFile: each
    // item or value through String, a single string split at commas as the flag's text is), so
    // Helm's natural forms pass: --set config.<list>=RS256 or {RS256,ES256} or a\,b, and
    // --set config.<map>.level=2 (a number to Helm) or config.<map>=a=b.
    case "list":
      Object.assign(base, { type: ["array", "string"], items: { type: ["string", "number"] } });
      break;
    case "map":
      Object.assign(base, {
        type: ["object", "string"],
        additionalProperties: { type: ["string", "number", "boolean"] },
      });
      break;
  }
  if (flag.default !== undefined) base.default = flag.default;
  return base;
}

/** `config`: one property per serve flag (and alias) the chart leaves to the user. */
export function configSchema(): Schema {
  const properties: Record<string, Schema> = {};
  for (const flag of serveFlags) {
    const names = [flag.name, ...(flag.aliases ?? [])];
    if (names.some((name) => chartManagedSettings.includes(name))) continue;
    properties[flag.name] = flagSchema(flag);
    for (const alias of flag.aliases ?? []) properties[alias] = flagSchema(flag, `alias of ${flag.name}: ${flag.help}`);
  }
  return {
    description:
      "serve's settings, written to config.yaml (keys are flag names, docs/configuration.md); the chart sets " +
      `${chartManagedSettings.join(", ")} itself`,
    type: "object",
    additionalProperties: false,
    properties,
  };
}

// Building blocks of the chart-level schema.
const str = (description?: string): Schema => ({ type: "string", ...(description ? { description } : {}) });
const bool = (description?: string): Schema => ({ type: "boolean", ...(description ? { description } : {}) });
const int = (description: string, minimum = 0, maximum?: number): Schema => ({
  type: "integer",
  description,
  minimum,
  ...(maximum === undefined ? {} : { maximum }),
});
const port = (description: string, minimum = 1): Schema => int(description, minimum, 65535);
/**
 * A list of ports, which the templates read through kube-oidc-gateway.portList: a YAML list, and
 * also what --set gives for one port (8443, a number) or several without braces (443\,6443, a
 * string), so a value that would be one port is not refused.
 */
const ports = (description: string): Schema => ({
  type: ["array", "integer", "string"],
  description: `${description}: a list, one port, or ports separated by commas`,
  items: port("a port"),
  minimum: 1,
  maximum: 65535,
  pattern: "^[0-9]+(,[0-9]+)*$",
});
/** A Kubernetes object passed through as is (the API server validates it). */
const k8s = (description: string): Schema => ({ type: "object", description });
const k8sList = (description: string): Schema => ({ type: "array", description, items: { type: "object" } });
const stringMap = (description: string): Schema => ({
  type: "object",
  description,
  additionalProperties: { type: "string" },
});
const object = (properties: Record<string, Schema>, description?: string): Schema => ({
  type: "object",
  ...(description ? { description } : {}),
  additionalProperties: false,
  properties,
});
/*
 * The Kubernetes objects the chart passes through, with their fields (k8s.io/api v0.37.2
 * core/v1 types.go: PodSecurityContext, SecurityContext, ResourceRequirements, Probe; cert-manager's
 * CertificatePrivateKey), so that a misspelt field or a wrong type fails `helm template` at its
 * path ('/securityContext': additional properties 'readOnlyRootFileSystem' not allowed) instead of
 * reaching the API server, or Argo CD's diff, as an object it rejects or silently drops.
 */
const id = (description: string): Schema => int(description, 0);
const seccompProfile = object({
  type: { type: "string", enum: ["RuntimeDefault", "Localhost", "Unconfined"] },
  localhostProfile: str(),
});
const appArmorProfile = object({
  type: { type: "string", enum: ["RuntimeDefault", "Localhost", "Unconfined"] },
  localhostProfile: str(),
});
const securityContextCommon: Record<string, Schema> = {
  runAsUser: id("uid of the process"),
  runAsGroup: id("gid of the process"),
  runAsNonRoot: bool(),
  seccompProfile,
  appArmorProfile,
  seLinuxOptions: k8s("SELinuxOptions"),
  windowsOptions: k8s("WindowsSecurityContextOptions"),
};
const podSecurityContext = object(
  {
    ...securityContextCommon,
    fsGroup: id("group of the mounted volumes' files"),
    fsGroupChangePolicy: { type: "string", enum: ["OnRootMismatch", "Always"] },
    supplementalGroups: { type: "array", items: id("a gid") },
    supplementalGroupsPolicy: { type: "string", enum: ["Merge", "Strict"] },
    sysctls: k8sList("Sysctls"),
    seLinuxChangePolicy: str(),
  },
  "PodSecurityContext",
);
const containerSecurityContext = object(
  {
    ...securityContextCommon,
    allowPrivilegeEscalation: bool(),
    readOnlyRootFilesystem: bool(),
    privileged: bool(),
    procMount: { type: "string", enum: ["Default", "Unmasked"] },
    capabilities: object({
      add: { type: "array", items: { type: "string" } },
      drop: { type: "array", items: { type: "string" } },
    }),
  },
  "SecurityContext of the container",
);
/** A resource.Quantity: a number, or its text (128Mi, 500m, 1e3). */
const quantity: Schema = {
  type: ["string", "number"],
  pattern: "^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?$",
};
/** Requests or limits: cpu, memory, ephemeral-storage, hugepages-<size>, or an extended resource (domain/name). */
const resourceList: Schema = {
  type: "object",
  additionalProperties: false,
  properties: { cpu: quantity, memory: quantity, "ephemeral-storage": quantity },
  patternProperties: { "^hugepages-": quantity, "^[^/]+/[^/]+$": quantity },
};
const resources = object(
  { requests: resourceList, limits: resourceList, claims: k8sList("ResourceClaims") },
  "ResourceRequirements of the container",
);
/** A probe's timing; the chart writes the handler (httpGet on the health port) itself. */
const probeTiming = (description: string): Schema =>
  object(
    {
      initialDelaySeconds: id("seconds"),
      timeoutSeconds: int("seconds", 1),
      periodSeconds: int("seconds", 1),
      successThreshold: int("count", 1),
      failureThreshold: int("count", 1),
      terminationGracePeriodSeconds: int("seconds", 1),
    },
    description,
  );

const keyRef = (name: string, description: string): Schema =>
  object(
    { [name]: str(`name of the ${name === "secretName" ? "Secret" : "object"}; empty: none`), key: str() },
    description,
  );

/** The whole values schema. */
export function chartValuesSchema(): Schema {
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $comment:
      "Generated by scripts/generate-chart-schema.ts from src/config/serve-flags.ts (config) and the chart's own " +
      "values; do not edit: run npm run docs.",
    title: "kube-oidc-gateway chart values",
    type: "object",
    additionalProperties: false,
    properties: {
      // Helm adds `global` when the chart is a dependency of another.
      global: { type: "object" },
      replicaCount: int("gateway pods; more than one with browser sessions needs session-store redis", 1),
      image: object({
        repository: str("image whose entrypoint is kube-oidc-gateway"),
        tag: str("default: the chart's appVersion"),
        digest: str("sha256:… digest; wins over the tag"),
        pullPolicy: { type: "string", enum: ["Always", "IfNotPresent", "Never"] },
      }),
      imagePullSecrets: k8sList("LocalObjectReferences of pull secrets"),
      nameOverride: str(),
      fullnameOverride: str(),
      config: configSchema(),
      authenticationConfiguration: k8s(
        "kube-apiserver's AuthenticationConfiguration (apiserver.config.k8s.io/v1) instead of config's oidc-* keys",
      ),
      auditPolicy: k8s("kube-apiserver's audit Policy (audit.k8s.io/v1); sets config audit-policy-file"),
      issuer: object(
        {
          inCluster: object(
            {
              namespace: str("namespace of the issuer's pods, e.g. keycloak"),
              podSelector: stringMap("labels of the issuer's pods (matchLabels): its Service's selector"),
              port: int(
                "port of the issuer's pods (the Service's targetPort, e.g. 8443), not the Service's; 0: not set",
                0,
                65535,
              ),
            },
            "the issuer's pods when its URL names a Service in the cluster: the network policies' issuer egress goes to them, on their port",
          ),
        },
        "the OIDC issuer as the network policies reach it",
      ),
      issuerCA: object(
        { configMap: str("ConfigMap name"), secret: str("Secret name"), key: str("key of the PEM bundle") },
        "PEM bundle trusted for the issuer (sets config oidc-ca-file)",
      ),
      session: object({
        clientSecret: keyRef("secretName", "Secret with the OAuth client secret (sets session-client-secret-file)"),
        cookieSecret: keyRef("secretName", "Secret with the cookie sealing secret (sets session-cookie-secret-file)"),
        redisPassword: keyRef(
          "secretName",
          "Secret with the Redis data nodes' password (sets session-redis-password-file)",
        ),
        redisSentinelPassword: keyRef(
          "secretName",
          "Secret with the Redis sentinels' own password (sets session-redis-sentinel-password-file)",
        ),
        redisCA: object(
          { configMap: str("ConfigMap name"), secret: str("Secret name"), key: str("key of the PEM bundle") },
          "PEM bundle that signed the Redis servers' certificates (sets session-redis-ca-file; turns TLS on)",
        ),
      }),
      ports: object(
        {
          https: port("HTTPS port of the pod (config secure-port); network policies allow this one", 1024),
          health: port("plain-HTTP port for /livez, /readyz, /metrics (config health-port)", 1024),
          api: port("HTTPS port of the API listener (config api-port) when apiListener is on", 1024),
        },
        "container ports; unprivileged, as the container drops every capability",
      ),
      service: object({
        type: { type: "string", enum: ["ClusterIP", "NodePort", "LoadBalancer"] },
        port: port("port clients use"),
        apiPort: port("port of the API listener (named api, target ports.api) when apiListener is on"),
        annotations: stringMap("Service annotations"),
        metricsPort: object({ enabled: bool(), port: port("Service port for the health port") }),
      }),
      apiListener: object(
        {
          enabled: {
            enum: ["auto", true, false],
            description: "auto: on when config.dashboard-upstream is set; true or false to choose",
          },
        },
        "a second HTTPS port serving only the Kubernetes API to bearer tokens (config api-port)",
      ),
      tls: object({ secretName: str("kubernetes.io/tls Secret; default <fullname>-tls") }),
      certificate: object(
        {
          enabled: bool(),
          issuerRef: object({
            name: str(),
            kind: { type: "string", enum: ["Issuer", "ClusterIssuer"] },
            group: str(),
          }),
          extraDnsNames: {
            type: ["array", "string"],
            description: "DNS names besides the Service's: a list, or names separated by commas",
            items: { type: "string" },
          },
          clusterDomain: str(),
          duration: str("Go duration, e.g. 2160h"),
          renewBefore: str("Go duration, e.g. 360h"),
          privateKey: object(
            {
              algorithm: { type: "string", enum: ["RSA", "ECDSA", "Ed25519"] },
              size: int("bits: RSA 2048, 4096 or 8192; ECDSA 256, 384 or 521"),
              encoding: { type: "string", enum: ["PKCS1", "PKCS8"] },
              rotationPolicy: { type: "string", enum: ["Never", "Always"] },
            },
            "cert-manager CertificatePrivateKey",
          ),
        },
        "cert-manager Certificate for the serving certificate",
      ),
      trustBundle: object(
        {
          enabled: bool(),
          name: str("Bundle and ConfigMap name; default <fullname>-ca-bundle"),
          key: str("key in the target ConfigMap"),
          gatewayCA: object({
            secret: object({ name: str(), key: str() }),
            configMap: object({ name: str(), key: str() }),
          }),
          includeClusterCA: bool("add kube-root-ca.crt"),
          namespaceSelector: k8s("label selector of the namespaces that receive the ConfigMap; empty: all"),
        },
        "trust-manager Bundle combining the gateway's CA with kube-root-ca.crt",
      ),
      serviceMonitor: object({
        enabled: bool(),
        interval: str(),
        labels: stringMap("labels the Prometheus Operator selects on"),
      }),
      serviceAccount: object({ create: bool(), name: str(), annotations: stringMap("ServiceAccount annotations") }),
      rbac: object({ create: bool("ClusterRole and ClusterRoleBinding for impersonation") }),
      networkPolicy: object({
        enabled: bool(),
        ingress: object({
          from: k8sList("NetworkPolicyPeers allowed to the HTTPS port; empty: any"),
          apiFrom: k8sList("NetworkPolicyPeers allowed to the API listener's port (ports.api); empty: any"),
          healthFrom: k8sList("NetworkPolicyPeers allowed to the health port; empty: any"),
        }),
        egress: object({
          dns: object({ enabled: bool(), to: k8sList("DNS server peers"), ports: ports("DNS ports") }),
          apiServer: object({
            to: k8sList("API server peers (ipBlock); empty: any"),
            ports: ports("API server ports"),
          }),
          issuer: object({ to: k8sList("issuer peers; empty: any"), ports: ports("issuer ports (pod ports)") }),
          extra: k8sList("more NetworkPolicyEgressRules"),
        }),
      }),
      ciliumNetworkPolicy: object({
        enabled: bool(),
        ingressFrom: k8sList("Cilium ingress peers (e.g. fromEndpoints); empty: any"),
        apiIngressFrom: k8sList("Cilium ingress peers allowed to the API listener's port; empty: any"),
        apiServerPorts: ports("ports allowed to the kube-apiserver entity"),
        issuerEgress: k8sList("Cilium egress rules towards the issuer"),
        extraEgress: k8sList("more Cilium egress rules"),
      }),
      podDisruptionBudget: object({
        enabled: bool(),
        maxUnavailable: { type: ["integer", "string"], description: "a number or a percentage" },
      }),
      topologySpreadConstraints: k8sList("TopologySpreadConstraints; the chart adds labelSelector and matchLabelKeys"),
      resources,
      maxOldSpaceSizeMiB: int("V8 heap limit in MiB (NODE_OPTIONS=--max-old-space-size); 0: Node's default"),
      podSecurityContext,
      securityContext: containerSecurityContext,
      livenessProbe: probeTiming("probe timing; the chart sets httpGet /livez on the health port"),
      readinessProbe: probeTiming("probe timing; the chart sets httpGet /readyz on the health port"),
      terminationGracePeriodSeconds: int("longer than config shutdown-grace-period"),
      priorityClassName: str(),
      podAnnotations: stringMap("pod annotations"),
      podLabels: stringMap("pod labels"),
      nodeSelector: stringMap("node labels"),
      tolerations: k8sList("Tolerations"),
      affinity: k8s("Affinity"),
      extraEnv: k8sList("EnvVars, e.g. KOG_<FLAG> overrides"),
      extraVolumes: k8sList("Volumes"),
      extraVolumeMounts: k8sList("VolumeMounts"),
    },
  };
}

/**
 * JSON as `biome format` writes it (the repository's formatter runs over charts/ too): two-space
 * indent, objects one member per line, arrays of plain values on one line when that fits in
 * biome.json's lineWidth of 120.
 */
function formatJson(value: unknown, indent = "", prefix = ""): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    if (value.every((item) => item === null || typeof item !== "object")) {
      const inline = `[${value.map((item) => JSON.stringify(item)).join(", ")}]`;
      if (indent.length + prefix.length + inline.length + 1 <= 120) return inline;
    }
    const inner = `${indent}  `;
    return `[\n${value.map((item) => `${inner}${formatJson(item, inner)}`).join(",\n")}\n${indent}]`;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 0) return "{}";
    const inner = `${indent}  `;
    const members = entries.map(([key, item]) => {
      const name = `${JSON.stringify(key)}: `;
      return `${inner}${name}${formatJson(item, inner, name)}`;
    });
    return `{\n${members.join(",\n")}\n${indent}}`;
  }
  return JSON.stringify(value);
}

/** The file's text. */
export function chartSchema(): string {
  return `${formatJson(chartValuesSchema())}\n`;
}

export const chartSchemaPath = join(import.meta.dirname, "..", "charts", "kube-oidc-gateway", "values.schema.json");

if (import.meta.main) {
  await writeFile(chartSchemaPath, chartSchema());
  process.stdout.write(`wrote ${chartSchemaPath}\n`);
}
