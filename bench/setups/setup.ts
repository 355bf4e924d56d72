// What every setup offers the workloads: an HTTPS URL in front of each upstream, and the
// processes that make up the proxy (measured for RSS and CPU; none for direct).
/**
 * gateway-workers: the gateway with --workers=N (the report names N). ceiling: direct to
 * kube-apiserver with the gateway's own credential and the Impersonate-* headers it would send.
 */
export type SetupName = "direct" | "ceiling" | "nginx" | "kube-oidc-proxy" | "gateway" | "gateway-workers";
/** static: the fixed-JSON stand-in (proxy overhead alone, and the echo for upgrades); api: kube-apiserver. */
export type Target = "static" | "api";

export interface Endpoint {
  readonly url: string;
  /** The proxy's processes serving this endpoint, read at sampling time. */
  readonly pids: () => number[];
  /** Request headers the client sends here instead of the user's bearer token. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface Setup {
  readonly name: SetupName;
  readonly endpoints: Record<Target, Endpoint>;
  /** Every process of the setup (for its peak RSS). */
  readonly allPids: () => number[];
  /** The targets this setup is measured on; default both. */
  readonly targets?: readonly Target[];
  /** What the report should say about this setup (version, how it was configured). */
  readonly description: string;
  stop(): Promise<void>;
}
