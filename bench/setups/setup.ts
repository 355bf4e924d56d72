// What every setup offers the workloads: an HTTPS URL in front of each upstream, and the
// processes that make up the proxy (measured for RSS and CPU; none for direct).
/** gateway-workers: the gateway with --workers=N (the report names N). */
export type SetupName = "direct" | "nginx" | "kube-oidc-proxy" | "gateway" | "gateway-workers";
/** static: the fixed-JSON stand-in (proxy overhead alone, and the echo for upgrades); api: kube-apiserver. */
export type Target = "static" | "api";

export interface Endpoint {
  readonly url: string;
  /** The proxy's processes serving this endpoint, read at sampling time. */
  readonly pids: () => number[];
}

export interface Setup {
  readonly name: SetupName;
  readonly endpoints: Record<Target, Endpoint>;
  /** Every process of the setup (for its peak RSS). */
  readonly allPids: () => number[];
  /** What the report should say about this setup (version, how it was configured). */
  readonly description: string;
  stop(): Promise<void>;
}
