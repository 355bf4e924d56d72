// How a pod gets (or does not get) its ServiceAccount credentials, and whether it needs them.
//
// client-go's rest.InClusterConfig (staging/src/k8s.io/client-go/rest/config.go) reads
// KUBERNETES_SERVICE_HOST/PORT from the environment and then, with no way to override them,
// /var/run/secrets/kubernetes.io/serviceaccount/token and .../ca.crt; the namespace comes from
// .../namespace. The ServiceAccount admission plugin mounts a projected volume there unless
// automountServiceAccountToken is false (pod spec first, then the ServiceAccount), and skips
// its own mount when a container already mounts something at that directory
// (plugin/pkg/admission/serviceaccount/admission.go).
import type { ManifestObject } from "./manifests.ts";
import {
  asArray,
  asRecord,
  asString,
  type Container,
  commandLineFlags,
  envVar,
  type Json,
  runs,
  sameNamespace,
  type Workload,
} from "./objects.ts";

export const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The three files client-go's in-cluster configuration and most API clients read. */
export const serviceAccountFiles = ["token", "ca.crt", "namespace"] as const;

export function normalizeMountPath(path: string): string {
  return path.replace(/\/+$/, "") || "/";
}

export function serviceAccountName(workload: Workload): string {
  return asString(workload.spec.serviceAccountName) ?? asString(workload.spec.serviceAccount) ?? "default";
}

export function serviceAccountObject(
  workload: Workload,
  objects: readonly ManifestObject[],
): ManifestObject | undefined {
  const name = serviceAccountName(workload);
  return objects.find(
    (o) => o.kind === "ServiceAccount" && o.name === name && sameNamespace(o.namespace, workload.namespace),
  );
}

export interface Automount {
  readonly enabled: boolean;
  /** Where it was decided: the pod spec, the ServiceAccount, or Kubernetes' default. */
  readonly decidedBy: "pod" | "serviceaccount" | "default";
  readonly serviceAccount: ManifestObject | undefined;
}

/** Whether the token is automounted: the pod spec's setting wins over the ServiceAccount's. */
export function automount(workload: Workload, objects: readonly ManifestObject[]): Automount {
  const serviceAccount = serviceAccountObject(workload, objects);
  const own = workload.spec.automountServiceAccountToken;
  if (typeof own === "boolean") return { enabled: own, decidedBy: "pod", serviceAccount };
  const fromAccount = serviceAccount?.body.automountServiceAccountToken;
  if (typeof fromAccount === "boolean") return { enabled: fromAccount, decidedBy: "serviceaccount", serviceAccount };
  return { enabled: true, decidedBy: "default", serviceAccount };
}

export interface VolumeMount {
  readonly index: number;
  readonly name: string;
  readonly mountPath: string;
  readonly subPath: string | undefined;
}

export function volumeMounts(container: Container): VolumeMount[] {
  return asArray(container.body.volumeMounts).flatMap((entry, index) => {
    const mount = asRecord(entry);
    const mountPath = asString(mount.mountPath);
    if (mountPath === undefined) return [];
    const subPath = asString(mount.subPath) || asString(mount.subPathExpr) || undefined;
    return [{ index, name: asString(mount.name) ?? "", mountPath: normalizeMountPath(mountPath), subPath }];
  });
}

export function volumeNamed(workload: Workload, name: string): { volume: Json; index: number } | undefined {
  const volumes = asArray(workload.spec.volumes);
  const index = volumes.findIndex((v) => asString(asRecord(v).name) === name);
  return index === -1 ? undefined : { volume: asRecord(volumes[index]), index };
}

/** The volume a container mounts over the whole ServiceAccount directory, if any. */
export function serviceAccountDirMount(container: Container): VolumeMount | undefined {
  return volumeMounts(container).find((m) => m.mountPath === serviceAccountDir && m.subPath === undefined);
}

export interface ProvidedFiles {
  /** Files known to be in the volume. */
  readonly files: ReadonlySet<string>;
  /** Whether the volume may hold further files this analysis cannot see (a whole ConfigMap). */
  readonly open: boolean;
  /** The ConfigMaps that provide `ca.crt`. */
  readonly caConfigMaps: readonly string[];
}

/** The files a volume puts in its directory (projected, secret and configMap volumes). */
export function providedFiles(volume: Json): ProvidedFiles {
  const files = new Set<string>();
  const caConfigMaps: string[] = [];
  let open = false;
  const addItems = (source: Json, configMap: string | undefined) => {
    const items = asArray(source.items);
    if (items.length === 0) {
      open = true;
      if (configMap !== undefined) caConfigMaps.push(configMap);
      return;
    }
    for (const item of items) {
      const path = asString(asRecord(item).path);
      if (path === undefined) continue;
      files.add(path);
      if (path === "ca.crt" && configMap !== undefined) caConfigMaps.push(configMap);
    }
  };
  if (volume.secret !== undefined) {
    const secret = asRecord(volume.secret);
    // A kubernetes.io/service-account-token Secret holds token, ca.crt and namespace.
    if (asArray(secret.items).length === 0) for (const file of serviceAccountFiles) files.add(file);
    else addItems(secret, undefined);
  }
  if (volume.configMap !== undefined) {
    const configMap = asRecord(volume.configMap);
    addItems(configMap, asString(configMap.name));
  }
  for (const entry of asArray(asRecord(volume.projected).sources)) {
    const source = asRecord(entry);
    if (source.serviceAccountToken !== undefined) {
      files.add(asString(asRecord(source.serviceAccountToken).path) ?? "token");
    }
    if (source.configMap !== undefined) addItems(asRecord(source.configMap), asString(asRecord(source.configMap).name));
    if (source.secret !== undefined) addItems(asRecord(source.secret), undefined);
    if (source.downwardAPI !== undefined) addItems(asRecord(source.downwardAPI), undefined);
    // A clusterTrustBundle source writes the bundle's certificates to its path, a usable ca.crt
    // (https://kubernetes.io/docs/concepts/storage/projected-volumes/#clustertrustbundle); a
    // podCertificate source writes to the paths it names (credentialBundlePath, keyPath,
    // certificateChainPath; KEP-4317).
    if (source.clusterTrustBundle !== undefined) {
      const path = asString(asRecord(source.clusterTrustBundle).path);
      if (path !== undefined) files.add(path);
    }
    if (source.podCertificate !== undefined) {
      const podCertificate = asRecord(source.podCertificate);
      for (const field of ["credentialBundlePath", "keyPath", "certificateChainPath"]) {
        const path = asString(podCertificate[field]);
        if (path !== undefined) files.add(path);
      }
    }
  }
  return { files, open, caConfigMaps };
}

// ---- Does the container talk to the Kubernetes API? ------------------------------------------

/**
 * Images (the last part of the repository) that are Kubernetes API clients by design. Kubeapps
 * (bitnami/kubeapps-*): kubeapps-apis (deployed as kubeapps-internal-kubeappsapis), the
 * apprepository controller and the older kubeops; not kubeapps-dashboard, an nginx serving the
 * static front end. Kubernetes Dashboard: kubernetesui/dashboard (v2, one image) and, in v3,
 * dashboard-api and dashboard-auth, not dashboard-web (static front end); these are matched
 * with their kubernetesui/ owner, as "dashboard" alone names many things.
 */
const apiClientImages =
  /^(headlamp|kubeapps-apis|kubeapps-apprepository-controller|kubeapps-kubeops|kube-oidc-proxy|kube-oidc-gateway)$/;
const kubernetesDashboardImages = /(^|\/)kubernetesui\/(dashboard|dashboard-api|dashboard-auth)$/;

function runsApiClientImage(container: Container): boolean {
  const repository = container.image.replace(/@.*$/, "").replace(/:[^/:]*$/, "");
  return runs(container, apiClientImages) || kubernetesDashboardImages.test(repository);
}

/**
 * Why the container is believed to use the in-cluster configuration, or undefined. The
 * heuristic (documented on the rule pages): it sets KUBERNETES_SERVICE_HOST; or it runs a known
 * API-client image; or it runs as a ServiceAccount other than `default` that a RoleBinding or
 * ClusterRoleBinding in the input grants access. A container given a kubeconfig (KUBECONFIG or
 * --kubeconfig) does not use the in-cluster configuration and is never one.
 */
export function apiClientReason(container: Container, objects: readonly ManifestObject[]): string | undefined {
  if (envVar(container, "KUBECONFIG") || commandLineFlags(container).some((f) => f.name === "kubeconfig")) {
    return undefined;
  }
  const host = envVar(container, "KUBERNETES_SERVICE_HOST");
  if (host) return `it sets KUBERNETES_SERVICE_HOST${host.value ? `=${host.value}` : ""}`;
  if (runsApiClientImage(container)) return `it runs ${container.image}, a Kubernetes API client`;
  const account = serviceAccountName(container.workload);
  if (account !== "default") {
    const binding = bindingOf(account, container.workload.namespace, objects);
    if (binding) return `its ServiceAccount ${account} is bound by ${binding.kind} ${binding.name}`;
  }
  return undefined;
}

function bindingOf(account: string, namespace: string | undefined, objects: readonly ManifestObject[]) {
  return objects.find(
    (o) =>
      (o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding") &&
      asArray(o.body.subjects).some((entry) => {
        const subject = asRecord(entry);
        return (
          subject.kind === "ServiceAccount" &&
          subject.name === account &&
          sameNamespace(asString(subject.namespace) ?? o.namespace, namespace)
        );
      }),
  );
}

/**
 * The API host a container is pointed at instead of the cluster's own `kubernetes` Service
 * (a gateway or proxy such as kube-oidc-proxy), or undefined.
 */
export function redirectedApiHost(container: Container): string | undefined {
  const host = envVar(container, "KUBERNETES_SERVICE_HOST")?.value;
  if (!host) return undefined;
  if (/^kubernetes(\.default(\.svc(\.cluster\.local)?)?)?\.?$/.test(host)) return undefined;
  return host;
}
