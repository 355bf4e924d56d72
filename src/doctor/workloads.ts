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
}

interface ContainerSpec {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: { name?: string; value?: string }[];
  ports?: { name?: string; containerPort?: number }[];
  livenessProbe?: Omit<Probe, "kind">;
  readinessProbe?: Omit<Probe, "kind">;
  startupProbe?: Omit<Probe, "kind">;
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
      spec?: { template?: { spec?: { containers?: ContainerSpec[] } } };
    };
    const namespace = deployment.metadata?.namespace ?? "default";
    const name = deployment.metadata?.name ?? "";
    for (const container of deployment.spec?.template?.spec?.containers ?? []) {
      const role = roleOf(container);
      if (!role) continue;
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
        flags: flagsOf([...(container.command ?? []), ...(container.args ?? [])]),
        env: new Map(
          (container.env ?? []).flatMap((e) => (e.name && e.value !== undefined ? [[e.name, e.value]] : [])),
        ),
        ports: (container.ports ?? []).flatMap((p) =>
          typeof p.containerPort === "number" ? [{ name: p.name, containerPort: p.containerPort }] : [],
        ),
        probes,
      });
    }
  }
  return found;
}
