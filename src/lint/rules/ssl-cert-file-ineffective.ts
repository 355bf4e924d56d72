// SSL_CERT_FILE set so that a client-go program trusts a gateway's CA. client-go's
// InClusterConfig sets TLSClientConfig.CAFile to the ServiceAccount's ca.crt
// (staging/src/k8s.io/client-go/rest/config.go), and a non-empty CA file replaces the system
// roots for that connection (transport/tls.go → x509.CertPool of that file only); Go's
// SSL_CERT_FILE only changes the system roots (crypto/x509/root_unix.go). The API connection
// therefore never sees the CA named in SSL_CERT_FILE.
import { containersOf, envVar, workloadsOf } from "../objects.ts";
import type { Rule } from "../rule.ts";
import { apiClientReason, redirectedApiHost, serviceAccountDir, serviceAccountDirMount } from "../service-accounts.ts";

export const sslCertFileIneffective: Rule = {
  id: "ssl-cert-file-ineffective",
  severity: "error",
  title: "SSL_CERT_FILE used to trust the API gateway's CA (client-go ignores it)",
  description:
    "A client-go program is pointed at a gateway or proxy with KUBERNETES_SERVICE_HOST and given SSL_CERT_FILE " +
    `(or SSL_CERT_DIR) to trust the gateway's CA. client-go verifies the API server with ${serviceAccountDir}/ca.crt ` +
    "only, so TLS verification fails (x509: certificate signed by unknown authority).",
  remediation:
    `Put the gateway's CA (and the cluster CA) into the ca.crt of a projected volume mounted at ${serviceAccountDir}, ` +
    "with automountServiceAccountToken: false.",
  *check({ objects }) {
    for (const workload of workloadsOf(objects)) {
      for (const container of containersOf(workload)) {
        const variable = envVar(container, "SSL_CERT_FILE") ?? envVar(container, "SSL_CERT_DIR");
        const host = redirectedApiHost(container);
        if (!variable || !host || !apiClientReason(container, objects)) continue;
        // A volume of its own at the ServiceAccount directory can carry the gateway's CA.
        if (serviceAccountDirMount(container)) continue;
        yield {
          object: workload.object,
          path: variable.path,
          message:
            `container ${container.name} sets ${variable.name}${variable.value ? `=${variable.value}` : ""} to trust ` +
            `${host} (KUBERNETES_SERVICE_HOST), but client-go verifies the API server with ${serviceAccountDir}/ca.crt ` +
            "only, which holds just the cluster CA: TLS fails with 'certificate signed by unknown authority'",
          fix:
            "Set automountServiceAccountToken: false and mount a projected volume at " +
            `${serviceAccountDir} whose ca.crt holds the gateway's CA and the cluster CA (kube-root-ca.crt), plus ` +
            `token and namespace; ${variable.name} can then go.`,
        };
      }
    }
  },
};
