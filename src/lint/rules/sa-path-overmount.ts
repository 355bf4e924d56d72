// A file or subPath mounted at or inside /var/run/secrets/kubernetes.io/serviceaccount. The
// directory is itself a mount (the automounted projected volume, or a volume of the pod's own),
// and the container runtime cannot bind a file over a file inside it: the container fails to
// start with "not a directory" (kubernetes #126635). Mounting a whole volume exactly at the
// directory, with automount off, is the way to replace its contents.
import type { Container } from "../objects.ts";
import { containersOf, workloadsOf } from "../objects.ts";
import type { Rule } from "../rule.ts";
import { automount, serviceAccountDir, serviceAccountDirMount, volumeMounts } from "../service-accounts.ts";

export const saPathOvermount: Rule = {
  id: "sa-path-overmount",
  severity: "error",
  title: "file or subPath mounted into the ServiceAccount directory",
  description:
    `A volumeMount puts a single file (subPath) or a volume inside ${serviceAccountDir}, where the ServiceAccount ` +
    "volume is already mounted. The container runtime cannot create the mount point inside that read-only " +
    'projected volume, so the container never starts ("not a directory").',
  remediation:
    "Set automountServiceAccountToken: false and mount one projected volume at the directory itself, holding " +
    "token (serviceAccountToken), ca.crt (configMap) and namespace (downwardAPI).",
  *check({ objects }) {
    for (const workload of workloadsOf(objects)) {
      const tokenMounted = automount(workload, objects).enabled;
      for (const container of containersOf(workload)) {
        yield* overmounts(container, tokenMounted);
      }
    }
  },
};

function* overmounts(container: Container, tokenMounted: boolean) {
  const dirMount = serviceAccountDirMount(container);
  // Something occupies the directory: the automounted volume (the admission plugin skips it
  // when the container mounts its own volume there), or the container's own volume.
  const occupied = tokenMounted || dirMount !== undefined;
  for (const mount of volumeMounts(container)) {
    const inside = mount.mountPath.startsWith(`${serviceAccountDir}/`);
    const atDir = mount.mountPath === serviceAccountDir;
    const path = [...container.path, "volumeMounts", mount.index, mount.subPath ? "subPath" : "mountPath"];
    if (atDir && mount.subPath !== undefined) {
      yield {
        object: container.workload.object,
        path,
        message:
          `container ${container.name} mounts subPath ${mount.subPath} of volume ${mount.name} as ${serviceAccountDir} ` +
          "itself; client-go then opens token and ca.crt under it and fails with 'not a directory' when it is a file",
        fix: `Mount the whole volume ${mount.name} at ${serviceAccountDir} (no subPath), with token, ca.crt and namespace in it.`,
      };
    } else if (inside && occupied) {
      const file = mount.mountPath.slice(serviceAccountDir.length + 1);
      const over = dirMount ? `volume ${dirMount.name}` : "the automounted ServiceAccount volume";
      yield {
        object: container.workload.object,
        path,
        message:
          `container ${container.name} mounts ${mount.subPath ? `subPath ${mount.subPath} of ` : ""}volume ` +
          `${mount.name} at ${mount.mountPath}, inside ${over}; the runtime cannot create ${file} in that ` +
          "read-only volume and the container fails to start ('not a directory')",
        fix:
          "Set automountServiceAccountToken: false and mount one projected volume at " +
          `${serviceAccountDir} holding token, ca.crt and namespace (put ${file} in it as a source).`,
      };
    }
  }
}
