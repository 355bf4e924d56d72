// Does every hop trust the issuer's certificate with the CA bundle it is actually given? The
// API server or gateway uses --oidc-ca-file (certificateAuthority); a dashboard or oauth2-proxy
// has its own bundle. Each bundle is named with the certificates it holds, and a failure names
// the CA that signed the issuer's chain, which is the one to add (kubelogin #1453, Headlamp #3707).
import { type Check, fail, pass, skipped } from "../check.ts";
import { isUnavailable } from "../context.ts";
import type { CaBundle } from "../options.ts";
import { describeBundle, probeTls } from "../tls.ts";

export const issuerTls: Check = {
  id: "issuer-tls",
  title: "each hop verifies the issuer's certificate with its own CA bundle",
  progress: "verifying the issuer's certificate chain against each CA bundle",
  async run(context) {
    const oidc = await context.oidc();
    const hops: { issuer: URL; bundle: CaBundle | undefined; hop: string }[] = [];
    const issuers: URL[] = [];
    if (!isUnavailable(oidc)) {
      for (const jwt of oidc.jwt) {
        const issuer = new URL(jwt.issuer.url);
        issuers.push(issuer);
        const ca = jwt.issuer.certificateAuthority;
        hops.push({
          issuer,
          hop: oidc.atApiServer ? "the API server" : "the gateway",
          bundle: ca ? { name: `the issuer CA of ${oidc.source}`, pem: ca } : undefined,
        });
      }
    } else {
      const decoded = await context.decoded();
      const iss = decoded && "claims" in decoded ? decoded.claims.iss : undefined;
      if (typeof iss === "string" && URL.canParse(iss)) issuers.push(new URL(iss));
    }
    for (const bundle of context.options.issuerCaBundles) {
      for (const issuer of issuers) hops.push({ issuer, bundle, hop: "a client given it" });
    }
    if (hops.length === 0)
      return skipped("no issuer known: no OIDC configuration, and no readable token whose iss is a URL");
    const evidence: string[] = isUnavailable(oidc) ? [] : [...oidc.notes];
    const failures: string[] = [];
    let missingCa = "";
    for (const { issuer, bundle, hop } of hops) {
      const probe = await probeTls(issuer, bundle?.pem, context.options.checkTimeoutMs);
      const trust = bundle ? describeBundle(bundle.name, bundle.pem) : "the system roots";
      if (!probe.reachable) {
        evidence.push(`${issuer.origin}: not reachable (${probe.error}); see netpath`);
        continue;
      }
      const chain = probe.chain.map((c) => `"${c.subject}" issued by "${c.issuer}"`).join(" ← ");
      if (probe.verified) {
        evidence.push(`${hop}: ${trust}; verifies ${issuer.origin} (${chain})`);
      } else {
        failures.push(`${hop} (${bundle?.name ?? "system roots"})`);
        missingCa = probe.chain.at(-1)?.issuer ?? missingCa;
        evidence.push(
          `${hop}: ${trust}; does NOT verify ${issuer.origin}: ${probe.verifyError}; the server sends ${chain}`,
        );
      }
    }
    if (failures.length === 0) {
      return evidence.some((e) => e.includes("not reachable"))
        ? skipped("the issuer is not reachable from here", evidence)
        : pass(
            `${hops.length === 1 ? "1 CA bundle verifies" : `${hops.length} CA bundles verify`} the issuer's certificate`,
            evidence,
          );
    }
    return fail(
      `${failures.join(", ")} cannot verify the issuer's certificate`,
      evidence,
      `add the CA certificate "${missingCa}" (the issuer of the chain the server sends) to the bundle named above; with trust-manager, add it as a source of the Bundle, and keep the sources the bundle already has`,
    );
  },
};
