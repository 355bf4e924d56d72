// automountServiceAccountToken: false on a pod that talks to the API, with no volume of its own
// holding token, ca.crt and namespace at the ServiceAccount directory. client-go's
// InClusterConfig then fails ("open .../token: no such file or directory"), or the client
// cannot verify the server (no ca.crt) or find its namespace. The ServiceAccount admin docs
// describe the projected volume to mount instead
// (https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#bound-service-account-token-volume).
// rest.InClusterConfig itself reads only token and ca.crt (client-go rest/config.go); the
// namespace file is read by clients that ask for their own namespace (clientcmd's
// inClusterClientConfig.Namespace), so a volume lacking only that is a warning.
import { containersOf, workloadsOf } from "../objects.ts";
import type { Rule } from "../rule.ts";
import {
  apiClientReason,
  automount,
  providedFiles,
  serviceAccountDir,
  serviceAccountDirMount,
  serviceAccountFiles,
  volumeNamed,
} from "../service-accounts.ts";

const sourceOf: Readonly<Record<string, string>> = {
  token: "a serviceAccountToken source with path token",
  "ca.crt": "a configMap source (kube-root-ca.crt, or your CA bundle) with an item ca.crt",
  namespace: "a downwardAPI source with path namespace from fieldRef metadata.namespace",
};

export const automountOffNoApiVolume: Rule = {
  id: "automount-off-no-api-volume",
  severity: "error",
  title: "API client without ServiceAccount credentials (automount off, no projected volume)",
  description:
    "automountServiceAccountToken is false (on the pod or its ServiceAccount) for a container that talks to the " +
    `Kubernetes API, and no volume mounted at ${serviceAccountDir} provides token, ca.crt and namespace. client-go's ` +
    "in-cluster configuration reads exactly those files, so the client cannot authenticate, verify the server or " +
    "find its namespace.",
  remediation:
    `Mount a projected volume at ${serviceAccountDir} with a serviceAccountToken (path token), a configMap item ` +
    "ca.crt and a downwardAPI item namespace, or turn automount back on.",
  *check({ objects }) {
    for (const workload of workloadsOf(objects)) {
      const mounted = automount(workload, objects);
      for (const container of containersOf(workload)) {
        const reason = apiClientReason(container, objects);
        if (!reason) continue;
        const dirMount = serviceAccountDirMount(container);
        const off =
          mounted.decidedBy === "pod"
            ? "automountServiceAccountToken is false on the pod"
            : `ServiceAccount ${mounted.serviceAccount?.name} sets automountServiceAccountToken: false`;
        if (!dirMount) {
          if (mounted.enabled) continue;
          yield {
            object: workload.object,
            path:
              mounted.decidedBy === "pod"
                ? [...workload.specPath, "automountServiceAccountToken"]
                : [...container.path, "name"],
            message:
              `${off} and nothing is mounted at ${serviceAccountDir}, yet container ${container.name} talks to the ` +
              `API (${reason}); client-go's in-cluster configuration fails: open ${serviceAccountDir}/token: no such ` +
              "file or directory",
            fix:
              `Mount a projected volume at ${serviceAccountDir} in container ${container.name} with ` +
              `${Object.values(sourceOf).join("; ")}.`,
          };
          continue;
        }
        const volume = volumeNamed(workload, dirMount.name);
        if (!volume) continue;
        const provided = providedFiles(volume.volume);
        // A whole ConfigMap (no items) may hold anything but a token.
        const required = provided.open ? ["token"] : serviceAccountFiles;
        const missing = required.filter((file) => !provided.files.has(file));
        if (missing.length === 0) continue;
        const onlyNamespace = missing.every((file) => file === "namespace");
        yield {
          ...(onlyNamespace ? { severity: "warning" as const } : {}),
          object: workload.object,
          path: [...container.path, "volumeMounts", dirMount.index, "mountPath"],
          message:
            `volume ${dirMount.name}, mounted at ${serviceAccountDir} in container ${container.name} (${reason}), ` +
            `lacks ${missing.join(", ")}; ` +
            (onlyNamespace
              ? "client-go's in-cluster configuration still works (it reads token and ca.crt), but clients that look " +
                "up their own namespace there fail or fall back to 'default'"
              : "client-go's in-cluster configuration reads token and ca.crt there and fails without them"),
          fix: `Add to the projected volume ${dirMount.name}: ${missing.map((file) => sourceOf[file]).join("; ")}.`,
        };
      }
    }
  },
};
