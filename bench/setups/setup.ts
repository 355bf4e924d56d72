// What every setup offers the workloads: an HTTPS URL in front of each upstream, and the
// processes that make up the proxy (measured for RSS and CPU; none for direct).
/**
 * gateway-workers: the gateway with --workers=N (the report names N). ceiling: direct to
 * kube-apiserver with the gateway's own credential and the Impersonate-* headers it would send.
 * The young-generation variants (issue 21, kube-apiserver only; N is --semi-space):
 * gateway-bounded: the default upstream (HTTP/1.1 for small requests) with node --max-semi-space-size=N;
 * gateway-h2: serve --upstream-http2=all with --max-semi-space-size=N;
 * gateway-h2-unbounded: --upstream-http2=all with V8's default young generation (the control).
 * node-floor: the least a Node.js proxy spends (bench/setups/node-floor.ts).
 */
export type SetupName =
  | "direct"
  | "ceiling"
  | "nginx"
  | "node-floor"
  | "kube-oidc-proxy"
  | "gateway"
  | "gateway-bounded"
  | "gateway-h2"
  | "gateway-h2-unbounded"
  | "gateway-workers";
/** Every gateway setup measured in the small-GET cells (one process each, unlike gateway-workers). */
export const gatewayVariants: readonly SetupName[] = ["gateway-bounded", "gateway-h2", "gateway-h2-unbounded"];
/** static: the fixed-JSON stand-in (proxy overhead alone, and the echo for upgrades); api: kube-apiserver. */
export type Target = "static" | "api";

export interface Endpoint {
  readonly url: string;
  /** The proxy's processes serving this endpoint, read at sampling time. */
  readonly pids: () => number[];
  /** The process's Prometheus metrics (the gateway's health port): GC time is read from them per cell. */
  readonly metricsUrl?: string;
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
