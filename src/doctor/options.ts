// The doctor's validated settings: parsed once from flags by the command, frozen, handed down.
import type { JwtAuthenticatorConfig } from "../authn/jwt-config.ts";

export interface CaBundle {
  /** Where it came from, for evidence ("--issuer-ca-file /etc/ca.pem"). */
  readonly name: string;
  readonly pem: string;
}

export interface AccessCheck {
  readonly verb: string;
  readonly resource: string;
  readonly group: string;
}

export interface DoctorOptions {
  /** The admin's access to the cluster: a kubeconfig path, or "" for in-cluster. */
  readonly kubeconfig: string;
  /** The user's token and where it was read from. */
  readonly token?: { readonly raw: string; readonly source: string };
  /** The gateway in front of the API server, when there is one. */
  readonly gateway?: { readonly url: URL; readonly ca?: CaBundle; readonly healthUrl?: URL };
  /** The OIDC configuration given on the command line. */
  readonly oidc?: {
    readonly jwt: readonly JwtAuthenticatorConfig[];
    readonly source: string;
    /** From --authentication-config (CAs inline, none meaning the system roots), not --oidc-* flags. */
    readonly fromFile: boolean;
  };
  /** The issuer CA of a configuration read from the cluster (its --oidc-ca-file is not readable here). */
  readonly oidcCa?: CaBundle;
  /** The CA bundles the other hops are given for the issuer (the dashboard's, a proxy's). */
  readonly issuerCaBundles: readonly CaBundle[];
  /** The CA bundle the in-cluster client reads as ca.crt. */
  readonly clientCa?: CaBundle;
  readonly refreshIntervalMs?: number;
  readonly tokenLifetimeMs?: number;
  readonly namespace: string;
  readonly accessChecks: readonly AccessCheck[];
  readonly probeUrls: readonly URL[];
  readonly timeoutMs: number;
  readonly checkTimeoutMs: number;
  readonly allowSystemIdentities: boolean;
  /** The environment doctor runs in (SSL_CERT_FILE, KUBERNETES_SERVICE_HOST). */
  readonly env: NodeJS.ProcessEnv;
  /** Where the in-cluster ServiceAccount files are (tests point it elsewhere). */
  readonly serviceAccountDir: string;
}

/** What a dashboard asks for on its first screens (Headlamp, Kubeapps, the Kubernetes Dashboard). */
export const dashboardAccessChecks: readonly AccessCheck[] = [
  { verb: "list", resource: "namespaces", group: "" },
  { verb: "list", resource: "pods", group: "" },
  { verb: "watch", resource: "pods", group: "" },
  { verb: "list", resource: "events", group: "" },
  { verb: "list", resource: "deployments", group: "apps" },
];
