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
