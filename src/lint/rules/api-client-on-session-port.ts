// An in-cluster API client (a dashboard's backend, usually) pointed at the port where the gateway
// serves a dashboard behind its browser login. There every path outside /oauth2/ and
// --session-api-prefix belongs to the dashboard, so the client's /api/... and /apis/... requests
// are dashboard paths: they need a session cookie the client does not have and get the session
// front's 401. Headlamp relays such a 401 to the browser, which is how the gateway's own login
// front looped Headlamp's users (issue 18). The API for such clients is --api-port.
//
// client-go's rest.InClusterConfig (staging/src/k8s.io/client-go/rest/config.go) dials
// https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT; the host is resolved here to a
// Service of the input (`name`, `name.ns`, `name.ns.svc`, `name.ns.svc.<domain>`), its port to
// the gateway container's pod port, which is compared with the gateway's --secure-port.
import { gatewaySettings, isGateway } from "../gateway-config.ts";
import { containersOf, envVar, sameNamespace, type Workload, workloadsOf } from "../objects.ts";
import type { Rule } from "../rule.ts";
import { redirectedApiHost } from "../service-accounts.ts";
import { resolveTargetPort, type Service, servicesOf, workloadsBehind } from "../services.ts";

/** The Service a cluster DNS name (or a bare Service name) points at, if it is in the input. */
function serviceNamed(host: string, client: Workload, services: readonly Service[]): Service | undefined {
  const labels = host.replace(/\.$/, "").split(".");
  const name = labels[0];
  // name, name.ns, name.ns.svc, name.ns.svc.<cluster domain>: anything else is not a Service name.
  if (labels.length > 2 && labels[2] !== "svc") return undefined;
  if (!name || /^\d+$/.test(name)) return undefined;
  const namespace = labels.length >= 2 ? labels[1] : client.namespace;
  return services.find((s) => s.object.name === name && sameNamespace(s.object.namespace, namespace));
}

export const apiClientOnSessionPort: Rule = {
  id: "api-client-on-session-port",
  severity: "error",
  title: "An in-cluster API client pointed at the gateway's dashboard port (its API calls meet the login front)",
  description:
    "A container's KUBERNETES_SERVICE_HOST/PORT lead to the port where kube-oidc-gateway serves a dashboard " +
    "(--dashboard-upstream) behind its browser login. There /api/... and /apis/... are the dashboard's paths: the " +
    "client's bearer requests get the session front's 401, and a dashboard that relays it sends its users back " +
    "through the login.",
  remediation:
    "Give the gateway --api-port (the chart: ports.api and service.apiPort) and point KUBERNETES_SERVICE_PORT at " +
    "the Service port that targets it: that port serves only the API, at /, to bearer tokens.",
  *check({ objects }) {
    const services = servicesOf(objects);
    const workloads = workloadsOf(objects);
    for (const client of workloads) {
      for (const container of containersOf(client)) {
        if (isGateway(container)) continue;
        const host = redirectedApiHost(container);
        const portVariable = envVar(container, "KUBERNETES_SERVICE_PORT");
        const port = Number(portVariable?.value);
        if (!host || !portVariable || !Number.isInteger(port)) continue;
        const service = serviceNamed(host, client, services);
        const servicePort = service?.ports.find((p) => p.port === port && p.protocol === "TCP");
        if (!service || !servicePort) continue;
        for (const gateway of workloadsBehind(service, workloads)) {
          for (const gatewayContainer of containersOf(gateway).filter(isGateway)) {
            const { settings } = gatewaySettings(gatewayContainer, objects);
            const dashboard = settings.get("dashboard-upstream");
            if (!dashboard?.value || !settings.get("session-client-id")?.value) continue;
            const securePort = Number(settings.get("secure-port")?.value ?? 443);
            const apiPort = Number(settings.get("api-port")?.value ?? 0);
            const targets = resolveTargetPort(servicePort, [gateway]);
            if (!targets.some((t) => t.port === securePort)) continue;
            yield {
              object: client.object,
              path: portVariable.path,
              message:
                `container ${container.name} sends its API requests to ${host}:${port}, which reaches the gateway's ` +
                `--secure-port ${securePort} (${gateway.object.kind}/${gateway.object.name}), where it serves the ` +
                `dashboard ${dashboard.value} behind its login: there /api/... are dashboard paths, so these requests ` +
                "get the session front's 401 instead of the API",
              fix:
                apiPort > 0
                  ? `Point KUBERNETES_SERVICE_PORT at the Service port that targets the gateway's --api-port ${apiPort}.`
                  : "Set the gateway's --api-port (the chart: ports.api, with service.apiPort on the Service) and " +
                    "point KUBERNETES_SERVICE_PORT at the Service port that targets it.",
            };
          }
        }
      }
    }
  },
};
