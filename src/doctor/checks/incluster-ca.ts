// client-go's in-cluster config trusts exactly serviceaccount/ca.crt (rest.InClusterConfig in
// k8s.io/client-go/rest/config.go) and ignores SSL_CERT_FILE, so a dashboard pointed at a gateway
// needs a ca.crt holding the gateway's CA as well as the cluster's: the incident's third and
// fourth root causes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Check, fail, pass, skipped } from "../check.ts";
import { isUnavailable } from "../context.ts";
import type { CaBundle } from "../options.ts";
import { describeBundle, probeTls } from "../tls.ts";

export const inclusterCa: Check = {
  id: "incluster-ca",
  title: "the in-cluster client's ca.crt verifies the endpoint it talks to",
  progress: "verifying the in-cluster CA bundle",
  async run(context) {
    const { options } = context;
    let bundle: CaBundle | undefined = options.clientCa;
    const inCluster = options.env.KUBERNETES_SERVICE_HOST !== undefined;
    if (!bundle && inCluster) {
      const file = join(options.serviceAccountDir, "ca.crt");
      try {
        bundle = { name: file, pem: readFileSync(file, "utf8") };
      } catch (error) {
        return fail(
          `running in a pod, but ${file} is not readable`,
          [(error as Error).message],
          "mount the ServiceAccount volume (token, ca.crt, namespace), or a projected volume with the same three files",
        );
      }
    }
    if (!bundle) return skipped("not running in a pod and no --client-ca-file given (the dashboard's ca.crt)");
    let target: URL | undefined = options.gateway?.url;
    let targetName = "the gateway";
    if (!target && inCluster) {
      target = new URL(
        `https://${options.env.KUBERNETES_SERVICE_HOST}:${options.env.KUBERNETES_SERVICE_PORT ?? "443"}`,
      );
      targetName = "KUBERNETES_SERVICE_HOST";
    }
    if (!target) {
      const cluster = await context.cluster();
      if (isUnavailable(cluster)) return skipped(cluster.unavailable);
      target = cluster.url;
      targetName = "the API server";
    }
    const evidence = [describeBundle(bundle.name, bundle.pem)];
    const sslCertFile = options.env.SSL_CERT_FILE;
    if (sslCertFile)
      evidence.push(`SSL_CERT_FILE=${sslCertFile} is set: client-go's in-cluster config does not read it`);
    const probe = await probeTls(target, bundle.pem, options.checkTimeoutMs);
    if (!probe.reachable)
      return skipped(`${targetName} (${target.origin}) is not reachable: ${probe.error}; see netpath`, evidence);
    const chain = probe.chain.map((c) => `"${c.subject}" issued by "${c.issuer}"`).join(" ← ");
    if (probe.verified)
      return pass(`${bundle.name} verifies ${targetName} (${target.origin})`, [...evidence, `chain: ${chain}`]);
    return fail(
      `${bundle.name} does not verify ${targetName} (${target.origin}): ${probe.verifyError}`,
      [...evidence, `the server sends ${chain}`],
      `client-go trusts only ca.crt, and a file cannot be mounted over it inside the ServiceAccount volume ("not a directory"): set automountServiceAccountToken: false and mount a projected volume at /var/run/secrets/kubernetes.io/serviceaccount with the token (serviceAccountToken), namespace (downwardAPI) and a ca.crt holding both "${probe.chain.at(-1)?.issuer ?? "the gateway's CA"}" and the cluster CA (kube-root-ca.crt), e.g. from a trust-manager Bundle with both sources`,
    );
  },
};
