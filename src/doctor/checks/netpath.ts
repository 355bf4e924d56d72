// Can this machine (run doctor where the dashboard runs: `kubectl debug` or a pod in its
// namespace) open TCP and TLS to every hop? A NetworkPolicy written with the Service port
// instead of the pod port (Cilium applies L4 policy after service translation) shows up here as
// a timeout, not as an error message anywhere else.
import { type Check, fail, pass, skipped } from "../check.ts";
import { isUnavailable } from "../context.ts";
import { probeTls } from "../tls.ts";

export const netpath: Check = {
  id: "netpath",
  title: "issuer, API server and gateway are reachable from here",
  progress: "connecting to the issuer, the API server and the gateway",
  async run(context) {
    const targets = new Map<string, URL>();
    const oidc = await context.oidc();
    if (!isUnavailable(oidc))
      for (const jwt of oidc.jwt) targets.set(`issuer ${jwt.issuer.url}`, new URL(jwt.issuer.url));
    else {
      const decoded = await context.decoded();
      const iss = decoded && "claims" in decoded ? decoded.claims.iss : undefined;
      if (typeof iss === "string" && URL.canParse(iss)) targets.set(`issuer ${iss}`, new URL(iss));
    }
    const cluster = await context.cluster();
    const notes: string[] = [];
    if (!isUnavailable(cluster)) targets.set(`API server ${cluster.url.origin}`, cluster.url);
    else notes.push(`API server not tried: ${cluster.unavailable}`);
    const gateway = context.options.gateway;
    if (gateway) targets.set(`gateway ${gateway.url.origin}`, gateway.url);
    if (targets.size === 0) return skipped("no issuer, API server or gateway known to connect to", notes);
    const results = await Promise.all(
      [...targets].map(async ([name, url]) => ({
        name,
        probe: await probeTls(url, undefined, context.options.checkTimeoutMs),
      })),
    );
    const evidence = [...notes];
    for (const { name, probe } of results) {
      evidence.push(probe.reachable ? `${name}: TLS handshake in ${probe.connectMs} ms` : `${name}: ${probe.error}`);
    }
    const down = results.filter((r) => !r.probe.reachable);
    if (down.length === 0) return pass(`${results.length} hops answer a TLS handshake from here`, evidence);
    return fail(
      `cannot reach ${down.map((d) => d.name).join(", ")} from here`,
      evidence,
      "check DNS and that something listens there; with NetworkPolicy or CiliumNetworkPolicy, allow the destination pod's port (e.g. 8443), not the Service port (443): policies apply after the Service is translated",
    );
  },
};
