// Does every hop trust the issuer's certificate with the CA bundle it is actually given? The
// API server or gateway uses --oidc-ca-file (certificateAuthority); a dashboard or oauth2-proxy
// has its own bundle. Each bundle is named with the certificates it holds, and a failure names
// the CA that signed the issuer's chain, which is the one to add (kubelogin #1453, Headlamp #3707).
// The configuration's own hop (the gateway or the API server) is never blamed while it works: a
// server that authenticated the user's token (its SelfSubjectReview answer, memoized for whoami)
// fetched the issuer's keys over TLS with the bundle it really has, so that answer outranks
// doctor's stand-ins: this machine's system roots (a Go API server reads its image's), or a bundle
// doctor was told (a warning: the server uses another). Without that proof a bundle doctor does
// not know (--oidc-* flags without --oidc-ca-file, a Pod's CA file whose contents were not given)
// is a warning that asks for it; a known one that does not verify fails.
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
      /** The server the hop is, to ask whether it authenticates the token (the configuration's hop only). */
      server?: "gateway" | "apiserver";
      /** Whether doctor does not know the bundle that server trusts (OidcConfiguration.caUnknown). */
      unknown?: boolean;
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
          server: oidc.atApiServer ? "apiserver" : "gateway",
          unknown: !ca && oidc.caUnknown,
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
    const warnings: { summary: string; fix: string }[] = [];
    let missingCa = "";
    for (const { issuer, bundle, hop, server, unknown } of hops) {
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
      const why = `${issuer.origin}: ${probe.verifyError}; the server sends ${chain}`;
      const ca = probe.chain.at(-1)?.issuer ?? "";
      evidence.push(`${hop}: ${trust}; ${unknown ? "the system roots do" : "does"} NOT verify ${why}`);
      // The server's own answer outranks doctor's stand-in: a server that authenticated the token
      // fetched the issuer's keys over TLS with the bundle it really has (its own system roots
      // too: a Go API server reads its image's, not this machine's).
      const proof = server ? await authenticated(context, server) : undefined;
      if (proof) {
        evidence.push(
          `${hop} authenticated the token (SelfSubjectReview: ${proof}): it fetched the issuer's keys over TLS, so the bundle it really has verifies ${issuer.origin}`,
        );
        if (bundle) {
          warnings.push({
            summary: `the bundle doctor was given for ${hop} does not verify the issuer, but ${hop} authenticates: it uses another bundle`,
            fix: `pass the contents of the CA file ${hop} really uses with --oidc-ca-file; before rolling out ${bundle.name}, add the CA certificate "${ca}" to it`,
          });
        }
        continue;
      }
      if (unknown) {
        warnings.push({
          summary: `doctor does not know the CA bundle ${hop} trusts for the issuer, and the system roots do not verify its certificate`,
          fix: `pass the contents of the file ${hop}'s --oidc-ca-file names with --oidc-ca-file, so doctor checks that bundle (with a token, doctor also asks whether ${hop} authenticates it); if it names none, give it --oidc-ca-file with the CA certificate "${ca}"`,
        });
        continue;
      }
      failures.push(`${hop} (${bundle?.name ?? "system roots"})`);
      missingCa = ca || missingCa;
    }
    if (failures.length > 0) {
      return fail(
        `${failures.join(", ")} cannot verify the issuer's certificate`,
        evidence,
        `add the CA certificate "${missingCa}" (the issuer of the chain the server sends) to the bundle named above; with trust-manager, add it as a source of the Bundle, and keep the sources the bundle already has`,
      );
    }
    if (warnings.length > 0) {
      return warn(warnings.map((w) => w.summary).join("; "), evidence, warnings.map((w) => w.fix).join("; "));
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
