// Services and the pod ports behind them. A Service's targetPort defaults to its port and may
// name a container port, which each selected pod resolves on its own
// (https://kubernetes.io/docs/concepts/services-networking/service/#field-spec-ports).
import type { ManifestObject } from "./manifests.ts";
import {
  asArray,
  asRecord,
  asString,
  containerPorts,
  containersOf,
  portNumber,
  sameNamespace,
  stringMap,
  type Workload,
} from "./objects.ts";
import { type Labels, mapSelects } from "./selectors.ts";

export interface ServicePort {
  readonly index: number;
  readonly name: string | undefined;
  readonly port: number;
  /** A number, or the name of a container port. */
  readonly targetPort: number | string;
  readonly protocol: string;
}

export interface Service {
  readonly object: ManifestObject;
  readonly selector: Labels;
  readonly ports: readonly ServicePort[];
}

export function servicesOf(objects: readonly ManifestObject[]): Service[] {
  return objects
    .filter((o) => o.kind === "Service")
    .map((object) => {
      const spec = asRecord(object.body.spec);
      const ports = asArray(spec.ports).flatMap((entry, index) => {
        const port = asRecord(entry);
        const number = portNumber(port.port);
        if (number === undefined) return [];
        const target = port.targetPort ?? number;
        return [
          {
            index,
            name: asString(port.name),
            port: number,
            targetPort: portNumber(target) ?? asString(target) ?? number,
            protocol: asString(port.protocol) ?? "TCP",
          },
        ];
      });
      return { object, selector: stringMap(spec.selector), ports };
    });
}

/** The workloads whose pods a Service selects. */
export function workloadsBehind(service: Service, workloads: readonly Workload[]): Workload[] {
  return workloads.filter(
    (w) => sameNamespace(w.namespace, service.object.namespace) && mapSelects(service.selector, w.labels),
  );
}

export interface ResolvedTarget {
  readonly port: number;
  /** The container that names the port, when targetPort is a name. */
  readonly container: string | undefined;
}

/** The pod ports a Service port forwards to; empty when a named targetPort resolves nowhere. */
export function resolveTargetPort(port: ServicePort, behind: readonly Workload[]): ResolvedTarget[] {
  if (typeof port.targetPort === "number") return [{ port: port.targetPort, container: undefined }];
  const targets: ResolvedTarget[] = [];
  for (const workload of behind) {
    for (const container of containersOf(workload)) {
      for (const containerPort of containerPorts(container)) {
        if (containerPort.name !== port.targetPort || containerPort.protocol !== port.protocol) continue;
        if (!targets.some((t) => t.port === containerPort.port)) {
          targets.push({ port: containerPort.port, container: container.name });
        }
      }
    }
  }
  return targets;
}

/**
 * The Service a host name means from a pod in `clientNamespace`, as cluster DNS resolves it
 * (https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/#services):
 * `name.ns.svc.<cluster domain>`, `name.ns.svc`, `name.ns` (the pod's search path holds
 * `svc.<cluster domain>`), or `name` in the pod's own namespace. Undefined for
 * names that are not a Service of the input (keycloak.example.com) and for IP addresses.
 */
export function serviceOfHost(
  host: string,
  clientNamespace: string | undefined,
  services: readonly Service[],
): Service | undefined {
  const name = host.toLowerCase().replace(/\.$/, "");
  if (/^[\d.]+$/.test(name) || name.includes(":")) return undefined;
  const labels = name.split(".");
  let wanted: { name: string; namespace: string | undefined } | undefined;
  if (labels.length === 1) wanted = { name: labels[0] as string, namespace: clientNamespace };
  else if (labels.length === 2) wanted = { name: labels[0] as string, namespace: labels[1] };
  else if (labels[2] === "svc") wanted = { name: labels[0] as string, namespace: labels[1] };
  if (!wanted) return undefined;
  const { name: serviceName, namespace } = wanted;
  const candidates = services.filter(
    (s) => s.object.name === serviceName && sameNamespace(s.object.namespace, namespace),
  );
  return candidates.find((s) => s.object.namespace === namespace) ?? candidates[0];
}

/** A connection to a Service port, as the pods behind it see it after the Service translation. */
export interface ServiceConnection {
  readonly service: Service;
  readonly servicePort: ServicePort;
  readonly behind: readonly Workload[];
  /** The pod ports it lands on (a named targetPort may resolve to more than one). */
  readonly targets: readonly ResolvedTarget[];
}

/** The connection a client opening `host:port` (TCP) makes, when the host is a Service of the input. */
export function serviceConnection(
  host: string,
  port: number,
  clientNamespace: string | undefined,
  services: readonly Service[],
  workloads: readonly Workload[],
): ServiceConnection | undefined {
  const service = serviceOfHost(host, clientNamespace, services);
  if (!service) return undefined;
  const servicePort = service.ports.find((p) => p.port === port && p.protocol.toUpperCase() === "TCP");
  if (!servicePort || Object.keys(service.selector).length === 0) return undefined;
  const behind = workloadsBehind(service, workloads);
  const targets = resolveTargetPort(servicePort, behind);
  if (targets.length === 0) return undefined;
  return { service, servicePort, behind, targets };
}

/** The pods (labels, namespace, port) a connection lands on. */
export function destinationsOf(connection: ServiceConnection): {
  labels: Labels;
  namespace: string | undefined;
  port: number;
  protocol: string;
  portNames: ReadonlySet<string>;
}[] {
  const { service, servicePort, behind, targets } = connection;
  const pods = behind.length > 0 ? behind : undefined;
  return targets.flatMap((target) => {
    if (!pods) {
      const names = new Set(typeof servicePort.targetPort === "string" ? [servicePort.targetPort] : []);
      return [
        {
          labels: service.selector,
          namespace: service.object.namespace,
          port: target.port,
          protocol: servicePort.protocol,
          portNames: names,
        },
      ];
    }
    return pods.map((workload) => ({
      labels: workload.labels,
      namespace: workload.namespace ?? service.object.namespace,
      port: target.port,
      protocol: servicePort.protocol,
      portNames: new Set(
        containersOf(workload).flatMap((c) =>
          containerPorts(c)
            .filter((p) => p.port === target.port && p.name !== undefined)
            .map((p) => p.name as string),
        ),
      ),
    }));
  });
}
