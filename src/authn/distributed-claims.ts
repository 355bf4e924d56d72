// Distributed claims (OpenID Connect Core §5.6.2) for the groups claim, resolved as
// kube-apiserver's claimResolver does (plugin/pkg/authenticator/token/oidc/oidc.go expand and
// resolve): a normal claim wins; otherwise `_claim_names` names a source in `_claim_sources`
// whose endpoint returns a JWT, fetched with the source's access token, verified against its
// own issuer (discovered lazily, in the background, like kube-apiserver's async verifiers, so
// the first token from a new issuer fails while discovery runs) with the authenticator's
// audiences, and that must contain the claim. Aggregated claims (a `JWT` source) are ignored.
// Like kube-apiserver, resolved claims are not cached (its resolver notes caching as future work).
//
// The verifiers are keyed by the `iss` of the source's JWT, read before anything verifies it, so
// unlike kube-apiserver's verifierPerIssuer map ("assumed that there will be very few entries",
// k8s.io/apiserver@v0.37.2 plugin/pkg/authenticator/token/oidc/oidc.go) and its discovery that
// polls every 10 s until it succeeds, both are bounded here, without changing a decision:
// - at most maxVerifiers are kept. A new issuer first evicts the oldest one still discovering:
//   its tokens are refused with "verifier not initialized" whether it is kept or started again.
//   Only when every kept verifier is ready is the least recently used one evicted; past that many
//   distinct working issuers the evicted one's next token waits for discovery again.
// - an issuer not discovered within giveUpAfterMs is dropped and its retries stop; the next token
//   that names it starts discovery again (and is refused meanwhile, as kube-apiserver refuses it).
import * as https from "node:https";
import { verifyIdToken } from "../apiserver/id-token-verifier.ts";
import { parseToken } from "../apiserver/jws.ts";
import { AuthenticationError } from "./errors.ts";
import { IssuerKeys, type IssuerKeysEvents } from "./issuer-keys.ts";
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

export interface DistributedClaimsLimits {
  /** Verifiers kept at most (one per claim-source issuer). */
  readonly maxVerifiers?: number;
  /** How long an issuer's discovery is retried (every 10 s) before its verifier is dropped. */
  readonly giveUpAfterMs?: number;
}

interface Verifier {
  readonly keys: IssuerKeys;
  readonly giveUp: NodeJS.Timeout;
}

export class DistributedClaimsResolver {
  readonly #config: JwtAuthenticatorConfig;
  readonly #claim: string;
  readonly #events: IssuerKeysEvents | undefined;
  readonly #maxVerifiers: number;
  readonly #giveUpAfterMs: number;
  /** In least recently used order: a Map iterates in insertion order, and a use re-inserts. */
  readonly #verifiers = new Map<string, Verifier>();

  constructor(
    config: JwtAuthenticatorConfig,
    claim: string,
    events?: IssuerKeysEvents,
    limits: DistributedClaimsLimits = {},
  ) {
    this.#config = config;
    this.#claim = claim;
    this.#events = events;
    this.#maxVerifiers = limits.maxVerifiers ?? 64;
    this.#giveUpAfterMs = limits.giveUpAfterMs ?? 60_000;
  }

  /** Verifiers kept now (bounded by maxVerifiers). */
  get verifierCount(): number {
    return this.#verifiers.size;
  }

  close(): void {
    for (const issuer of [...this.#verifiers.keys()]) this.#drop(issuer);
  }

  #drop(issuer: string): void {
    const verifier = this.#verifiers.get(issuer);
    if (!verifier) return;
    this.#verifiers.delete(issuer);
    clearTimeout(verifier.giveUp);
    verifier.keys.close();
  }

  #verifier(issuer: string): IssuerKeys {
    const kept = this.#verifiers.get(issuer);
    if (kept) {
      this.#verifiers.delete(issuer);
      this.#verifiers.set(issuer, kept);
      return kept.keys;
    }
    if (this.#verifiers.size >= this.#maxVerifiers) {
      let evict: string | undefined;
      for (const [name, verifier] of this.#verifiers) {
        if (verifier.keys.notReadyReason) {
          evict = name;
          break;
        }
      }
      this.#drop(evict ?? (this.#verifiers.keys().next().value as string));
    }
    const keys = new IssuerKeys(
      { ...this.#config, issuer: { ...this.#config.issuer, url: issuer, discoveryUrl: undefined } },
      this.#events,
    );
    const giveUp = setTimeout(() => {
      if (this.#verifiers.get(issuer)?.keys === keys && keys.notReadyReason) this.#drop(issuer);
    }, this.#giveUpAfterMs);
    giveUp.unref();
    keys.start();
    this.#verifiers.set(issuer, { keys, giveUp });
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
