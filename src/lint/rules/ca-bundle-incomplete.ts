// A trust-manager Bundle that a pod mounts as its ServiceAccount ca.crt while it talks to the
// API through a gateway. That ca.crt is the only CA client-go trusts for the API connection
// (rest.InClusterConfig), so it must hold the gateway's CA, and it replaces the cluster CA for
// everything else in the pod, so it must hold kube-root-ca.crt too — the incident's fix added
// that source. Bundle sources: https://cert-manager.io/docs/trust/trust-manager/api-reference/.
import type { ManifestObject } from "../manifests.ts";
import { asArray, asRecord, asString, containersOf, workloadsOf } from "../objects.ts";
import type { Rule } from "../rule.ts";
import {
  providedFiles,
  redirectedApiHost,
  serviceAccountDir,
  serviceAccountDirMount,
  volumeNamed,
} from "../service-accounts.ts";

const clusterCaConfigMap = "kube-root-ca.crt";

interface BundleUse {
  readonly workload: ManifestObject;
  readonly container: string;
  readonly host: string;
}

function bundleUses(objects: readonly ManifestObject[]): Map<string, BundleUse[]> {
  const uses = new Map<string, BundleUse[]>();
  for (const workload of workloadsOf(objects)) {
    for (const container of containersOf(workload)) {
      const host = redirectedApiHost(container);
      const mount = serviceAccountDirMount(container);
      const volume = mount && volumeNamed(workload, mount.name);
      if (!host || !volume) continue;
      for (const configMap of providedFiles(volume.volume).caConfigMaps) {
        uses.set(configMap, [
          ...(uses.get(configMap) ?? []),
          { workload: workload.object, container: container.name, host },
        ]);
      }
    }
  }
  return uses;
}

export const caBundleIncomplete: Rule = {
  id: "ca-bundle-incomplete",
  severity: "error",
  title: "trust-manager Bundle used as ServiceAccount ca.crt lacks the gateway CA or the cluster CA",
  description:
    "A pod points KUBERNETES_SERVICE_HOST at a gateway and mounts a trust-manager Bundle's ConfigMap as its " +
    `${serviceAccountDir}/ca.crt. client-go trusts only that file, so it needs the gateway's CA, and it replaces the ` +
    `cluster CA for the whole pod, so it needs the ${clusterCaConfigMap} source as well.`,
  remediation: `List both sources in the Bundle: the gateway's CA and \`configMap: {name: ${clusterCaConfigMap}, key: ca.crt}\`.`,
  *check({ objects }) {
    const uses = bundleUses(objects);
    for (const bundle of objects) {
      if ((bundle.kind !== "Bundle" && bundle.kind !== "ClusterBundle") || !bundle.apiVersion.startsWith("trust.")) {
        continue;
      }
      const use = uses.get(bundle.name)?.[0];
      if (!use) continue;
      const sources = asArray(asRecord(bundle.body.spec).sources).map(asRecord);
      const clusterCa = sources.some((s) => asString(asRecord(s.configMap).name) === clusterCaConfigMap);
      const otherCa = sources.some(
        (s) =>
          s.secret !== undefined ||
          s.inLine !== undefined ||
          s.useDefaultCAs === true ||
          (s.configMap !== undefined && asString(asRecord(s.configMap).name) !== clusterCaConfigMap),
      );
      const user = `${use.workload.kind} ${use.workload.namespace ? `${use.workload.namespace}/` : ""}${use.workload.name}`;
      const context =
        `${user} (container ${use.container}) mounts it as ${serviceAccountDir}/ca.crt and sends API requests to ` +
        `${use.host}`;
      if (!clusterCa) {
        yield {
          object: bundle,
          path: ["spec", "sources"],
          message:
            `Bundle ${bundle.name} lacks the cluster CA (configMap ${clusterCaConfigMap}); ${context}, so that ca.crt ` +
            "replaces the cluster's own and every connection from the pod to the real API server fails TLS verification",
          fix: `Add a source \`configMap: {name: ${clusterCaConfigMap}, key: ca.crt}\` to Bundle ${bundle.name}.`,
        };
      }
      if (!otherCa) {
        yield {
          object: bundle,
          path: ["spec", "sources"],
          message:
            `Bundle ${bundle.name} holds no CA besides the cluster's; ${context}, whose certificate client-go can ` +
            "then verify with nothing but the cluster CA",
          fix: `Add the gateway's CA (the Secret or ConfigMap of its issuer) as a source of Bundle ${bundle.name}.`,
        };
      }
    }
  },
};
