// The workloads doctor knows how to read from the cluster: the gateway itself, kube-oidc-proxy
// (which it replaces) and oauth2-proxy in front of a dashboard. Deployments store their pod
// template whether or not anything runs it, so the configuration is readable with `list
// deployments` alone.
import { type ContainerFlags, flagsOf } from "./container-flags.ts";

export type WorkloadRole = "kube-oidc-gateway" | "kube-oidc-proxy" | "oauth2-proxy";

export interface Probe {
  readonly kind: "livenessProbe" | "readinessProbe" | "startupProbe";
  readonly httpGet?: { readonly path?: string; readonly port?: number | string; readonly scheme?: string };
  readonly tcpSocket?: { readonly port?: number | string };
}

/** Where a gateway container's --config file comes from: a key of a ConfigMap. */
export interface ConfigFileSource {
  readonly configMap: string;
  readonly key: string;
  /** The path the container reads, for evidence. */
  readonly path: string;
}

export interface Workload {
  /** "Deployment namespace/name". */
  readonly ref: string;
  readonly namespace: string;
  readonly name: string;
  readonly role: WorkloadRole;
  readonly container: string;
  readonly flags: ContainerFlags;
  readonly env: ReadonlyMap<string, string>;
  readonly ports: readonly { readonly name?: string; readonly containerPort: number }[];
  readonly probes: readonly Probe[];
  /** The gateway's --config file, when it comes from a ConfigMap (as with the project's chart). */
  readonly configFile?: ConfigFileSource;
  /** Where `flags` were read, when more than the container's arguments (set by the context). */
  readonly settingsFrom?: string;
}

interface VolumeMount {
  name?: string;
  mountPath?: string;
  subPath?: string;
}

interface ConfigMapProjection {
  name?: string;
  items?: { key?: string; path?: string }[];
}

interface Volume {
  name?: string;
  configMap?: ConfigMapProjection;
  projected?: { sources?: { configMap?: ConfigMapProjection }[] };
}

interface ContainerSpec {
  name?: string;
  volumeMounts?: VolumeMount[];
  image?: string;
  command?: string[];
  args?: string[];
  env?: { name?: string; value?: string }[];
  ports?: { name?: string; containerPort?: number }[];
  livenessProbe?: Omit<Probe, "kind">;
  readinessProbe?: Omit<Probe, "kind">;
  startupProbe?: Omit<Probe, "kind">;
}

/**
 * The ConfigMap key behind a file path in a container: the longest mount that holds the path,
 * its volume (configMap or projected configMap sources), and the item that maps to the file
 * (kubelet: pkg/volume/configmap and pkg/volume/projected write keys, or items' paths, as files).
 */
export function configMapFileAt(
  container: ContainerSpec,
  volumes: readonly Volume[],
  path: string,
): ConfigFileSource | undefined {
  const within = (mount: string) => path === mount || path.startsWith(`${mount.replace(/\/$/, "")}/`);
  const mount = (container.volumeMounts ?? [])
    .filter((m) => m.mountPath && within(m.mountPath))
    .sort((a, b) => (b.mountPath?.length ?? 0) - (a.mountPath?.length ?? 0))[0];
  if (!mount?.mountPath) return undefined;
  const rest = path.slice(mount.mountPath.replace(/\/$/, "").length).replace(/^\//, "");
  const relative = [mount.subPath, rest].filter(Boolean).join("/");
  const volume = volumes.find((v) => v.name === mount.name);
  const sources = volume?.configMap
    ? [volume.configMap]
    : (volume?.projected?.sources ?? []).flatMap((s) => (s.configMap ? [s.configMap] : []));
  for (const source of sources) {
    if (!source.name) continue;
    if (!source.items) return { configMap: source.name, key: relative, path };
    const item = source.items.find((i) => i.path === relative);
    if (item?.key) return { configMap: source.name, key: item.key, path };
  }
  return undefined;
}

function roleOf(container: ContainerSpec): WorkloadRole | undefined {
  const text = [container.image ?? "", ...(container.command ?? []), ...(container.args ?? [])].join(" ");
  if (/kube-oidc-gateway/.test(text)) return "kube-oidc-gateway";
  if (/kube-oidc-proxy/.test(text)) return "kube-oidc-proxy";
  if (/oauth2-proxy/.test(text)) return "oauth2-proxy";
  return undefined;
}

/** The interesting containers of a `DeploymentList` body. */
export function workloadsIn(list: unknown): Workload[] {
  const items = (list as { items?: unknown[] })?.items ?? [];
  const found: Workload[] = [];
  for (const item of items) {
    const deployment = item as {
      metadata?: { namespace?: string; name?: string };
      spec?: { template?: { spec?: { containers?: ContainerSpec[]; volumes?: Volume[] } } };
    };
    const namespace = deployment.metadata?.namespace ?? "default";
    const name = deployment.metadata?.name ?? "";
    for (const container of deployment.spec?.template?.spec?.containers ?? []) {
      const role = roleOf(container);
      if (!role) continue;
      const flags = flagsOf([...(container.command ?? []), ...(container.args ?? [])]);
      const env = new Map(
        (container.env ?? []).flatMap((e) => (e.name && e.value !== undefined ? [[e.name, e.value] as const] : [])),
      );
      const configPath = role === "kube-oidc-gateway" ? (flags.get("config") ?? env.get("KOG_CONFIG")) : undefined;
      const probes: Probe[] = [];
      for (const kind of ["livenessProbe", "readinessProbe", "startupProbe"] as const) {
        const probe = container[kind];
        if (probe) probes.push({ kind, ...probe });
      }
      found.push({
        ref: `Deployment ${namespace}/${name}`,
        namespace,
        name,
        role,
        container: container.name ?? "",
        flags,
        env,
        ports: (container.ports ?? []).flatMap((p) =>
          typeof p.containerPort === "number" ? [{ name: p.name, containerPort: p.containerPort }] : [],
        ),
        probes,
        configFile: configPath
          ? configMapFileAt(container, deployment.spec?.template?.spec?.volumes ?? [], configPath)
          : undefined,
      });
    }
  }
  return found;
}
