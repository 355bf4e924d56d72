// Does every hop trust the issuer's certificate with the CA bundle it is actually given? The
// API server or gateway uses --oidc-ca-file (certificateAuthority); a dashboard or oauth2-proxy
// has its own bundle. Each bundle is named with the certificates it holds, and a failure names
// the CA that signed the issuer's chain, which is the one to add (kubelogin #1453, Headlamp #3707).
// A bundle doctor does not know (the user's --oidc-* flags without --oidc-ca-file, a Pod's CA file
// whose contents were not given) is never blamed: the server's own SelfSubjectReview answer proves
// it (a server that authenticated the token fetched the issuer's keys over TLS with that bundle),
// and without that proof the result is a warning that asks for the bundle.
import { type Check, fail, pass, skipped, warn } from "../check.ts";
import { type DoctorContext, isUnavailable } from "../context.ts";
import type { CaBundle } from "../options.ts";
import { describeBundle, probeTls } from "../tls.ts";

export const issuerTls: Check = {
  id: "issuer-tls",
  title: "each hop verifies the issuer's certificate with its own CA bundle",
  progress: "verifying the issuer's certificate chain against each CA bundle",
  async run(context) {
    const oidc = await context.oidc();
    const hops: {
      issuer: URL;
      bundle: CaBundle | undefined;
      hop: string;
      /** The server whose bundle doctor does not know, to ask whether it authenticates the token. */
      unknown?: "gateway" | "apiserver";
    }[] = [];
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
          ...(!ca && oidc.caUnknown ? { unknown: oidc.atApiServer ? "apiserver" : "gateway" } : {}),
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
    const unknowns: string[] = [];
    let missingCa = "";
    for (const { issuer, bundle, hop, unknown } of hops) {
      const probe = await probeTls(issuer, bundle?.pem, context.options.checkTimeoutMs);
      const trust = bundle
        ? describeBundle(bundle.name, bundle.pem)
        : unknown
          ? "its own CA bundle, which doctor does not know (the system roots stand in)"
          : "the system roots";
      if (!probe.reachable) {
        evidence.push(`${issuer.origin}: not reachable (${probe.error}); see netpath`);
        continue;
      }
      const chain = probe.chain.map((c) => `"${c.subject}" issued by "${c.issuer}"`).join(" ← ");
      if (probe.verified) {
        evidence.push(`${hop}: ${trust}; verifies ${issuer.origin} (${chain})`);
        continue;
      }
      const notVerified = `NOT verify ${issuer.origin}: ${probe.verifyError}; the server sends ${chain}`;
      if (unknown) {
        const proof = await authenticated(context, unknown);
        if (proof) {
          evidence.push(
            `${hop}: ${trust}; the system roots do ${notVerified}`,
            `${hop} authenticated the token (SelfSubjectReview: ${proof}): it fetched the issuer's keys over TLS, so its own bundle verifies ${issuer.origin}`,
          );
          continue;
        }
        unknowns.push(hop);
        missingCa = probe.chain.at(-1)?.issuer ?? missingCa;
        evidence.push(`${hop}: ${trust}; the system roots do ${notVerified}`);
        continue;
      }
      failures.push(`${hop} (${bundle?.name ?? "system roots"})`);
      missingCa = probe.chain.at(-1)?.issuer ?? missingCa;
      evidence.push(`${hop}: ${trust}; does ${notVerified}`);
    }
    if (failures.length > 0) {
      return fail(
        `${failures.join(", ")} cannot verify the issuer's certificate`,
        evidence,
        `add the CA certificate "${missingCa}" (the issuer of the chain the server sends) to the bundle named above; with trust-manager, add it as a source of the Bundle, and keep the sources the bundle already has`,
      );
    }
    if (unknowns.length > 0) {
      return warn(
        `doctor does not know the CA bundle ${unknowns.join(" and ")} trusts for the issuer, and the system roots do not verify its certificate`,
        evidence,
        `pass the contents of the file ${unknowns.join(" and ")}'s --oidc-ca-file names with --oidc-ca-file, so doctor checks that bundle (with a token, doctor also asks whether it authenticates it); if it names none, give it --oidc-ca-file with the CA certificate "${missingCa}"`,
      );
    }
    return evidence.some((e) => e.includes("not reachable"))
      ? skipped("the issuer is not reachable from here", evidence)
      : pass(
          `${hops.length === 1 ? "1 CA bundle verifies" : `${hops.length} CA bundles verify`} the issuer's certificate`,
          evidence,
        );
  },
};

/**
 * "HTTP 201 as <user>" when the server authenticated the user's token, which it can only have
 * done with the issuer's keys, fetched over TLS with its own bundle; undefined otherwise.
 */
async function authenticated(context: DoctorContext, target: "gateway" | "apiserver"): Promise<string | undefined> {
  if (!(await context.token())) return undefined;
  if (target === "gateway" && !context.options.gateway) return undefined;
  const review = await context.selfSubjectReview(target);
  if (isUnavailable(review) || review.status !== 201 || !review.user) return undefined;
  return `HTTP 201 as ${JSON.stringify(review.user.username)}`;
}
