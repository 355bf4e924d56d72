// Distributed claims (OpenID Connect Core §5.6.2) for the groups claim, resolved as
// kube-apiserver's claimResolver does (plugin/pkg/authenticator/token/oidc/oidc.go expand and
// resolve): a normal claim wins; otherwise `_claim_names` names a source in `_claim_sources`
// whose endpoint returns a JWT, fetched with the source's access token, verified against its
// own issuer (discovered lazily, in the background, like kube-apiserver's async verifiers, so
// the first token from a new issuer fails while discovery runs) with the authenticator's
// audiences, and that must contain the claim. Aggregated claims (a `JWT` source) are ignored.
// Like kube-apiserver, resolved claims are not cached (its resolver notes caching as future work).
import * as https from "node:https";
import { AuthenticationError } from "./errors.ts";
import { verifyIdToken } from "./id-token-verifier.ts";
import { IssuerKeys, type IssuerKeysEvents } from "./issuer-keys.ts";
import { parseToken } from "./jwt-authenticator.ts";
import type { JwtAuthenticatorConfig } from "./jwt-config.ts";

const fail = (message: string) =>
  new AuthenticationError("DISTRIBUTED_CLAIM", `oidc: could not expand distributed claims: ${message}`);
const maxResponseBytes = 1 << 20;

function getClaimJwt(url: string, accessToken: string, ca: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      url,
      { ca, timeout: 30_000, headers: accessToken ? { authorization: `Bearer ${accessToken}` } : {} },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
          if (body.length > maxResponseBytes) req.destroy(new Error("response too large"));
        });
        res.on("end", () =>
          res.statusCode === 200 ? resolve(body) : reject(new Error(`request failed: HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
  });
}

export class DistributedClaimsResolver {
  readonly #config: JwtAuthenticatorConfig;
  readonly #claim: string;
  readonly #events: IssuerKeysEvents | undefined;
  readonly #verifiers = new Map<string, IssuerKeys>();

  constructor(config: JwtAuthenticatorConfig, claim: string, events?: IssuerKeysEvents) {
    this.#config = config;
    this.#claim = claim;
    this.#events = events;
  }

  close(): void {
    for (const keys of this.#verifiers.values()) keys.close();
  }

  #verifier(issuer: string): IssuerKeys {
    let keys = this.#verifiers.get(issuer);
    if (!keys) {
      keys = new IssuerKeys(
        { ...this.#config, issuer: { ...this.#config.issuer, url: issuer, discoveryUrl: undefined } },
        this.#events,
      );
      keys.start();
      this.#verifiers.set(issuer, keys);
    }
    return keys;
  }

  /** Puts the resolved claim into `claims`, or leaves them alone when there is nothing to resolve. */
  async expand(claims: Record<string, unknown>): Promise<void> {
    const claim = this.#claim;
    if (claim in claims || !("_claim_names" in claims)) return;
    const names = claims._claim_names;
    if (names === null || typeof names !== "object" || Array.isArray(names))
      throw fail("error parsing distributed claim names");
    if (!("_claim_sources" in claims)) throw fail("oidc: no claim sources");
    const sources = claims._claim_sources;
    if (sources === null || typeof sources !== "object" || Array.isArray(sources))
      throw fail("could not parse claim sources");
    const sourceName = (names as Record<string, unknown>)[claim];
    if (typeof sourceName !== "string") return;
    const source = (sources as Record<string, unknown>)[sourceName] as
      | { endpoint?: unknown; access_token?: unknown }
      | undefined;
    if (!source) throw fail(`id token _claim_names contained a source ${sourceName} missing in _claims_sources`);
    if (typeof source.endpoint !== "string" || source.endpoint === "") return; // aggregated claim: ignored
    let jwt: string;
    try {
      jwt = await getClaimJwt(
        source.endpoint,
        typeof source.access_token === "string" ? source.access_token : "",
        this.#config.issuer.certificateAuthority,
      );
    } catch (error) {
      throw fail(`while getting distributed claim ${JSON.stringify(claim)}: ${(error as Error).message}`);
    }
    const parsed = parseToken(jwt.trim());
    if (!parsed)
      throw fail(`getting untrusted issuer from endpoint ${source.endpoint} failed for claim ${JSON.stringify(claim)}`);
    const keys = this.#verifier(parsed.issuer);
    if (keys.notReadyReason) throw fail(`verifier not initialized for issuer: ${JSON.stringify(parsed.issuer)}`);
    try {
      await verifyIdToken(parsed, keys, {
        issuerUrl: parsed.issuer,
        audiences: this.#config.issuer.audiences,
        algorithms: this.#config.signingAlgorithms,
      });
    } catch (error) {
      throw fail(`verify distributed claim token: ${(error as Error).message}`);
    }
    if (!(claim in parsed.payload)) {
      throw fail(
        `jwt returned by distributed claim endpoint ${JSON.stringify(source.endpoint)} did not contain claim: ${claim}`,
      );
    }
    claims[claim] = parsed.payload[claim];
  }
}
