// Distributed-claims verifiers are keyed by the `iss` of a JWT that a claim source returned,
// before anything is verified: tokens naming many sources, each answering with its own issuer,
// must not grow the verifiers (and their background discovery) without bound, nor keep retrying
// discovery forever for issuers nobody asks about any more. Decisions stay kube-apiserver's:
// an issuer still discovering answers "verifier not initialized", a discovered one resolves.
// Real parts: an HTTPS claim source and issuers on loopback, signed JWTs, the real resolver.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { DistributedClaimsResolver } from "../../src/authn/distributed-claims.ts";
import type { JwtAuthenticatorConfig } from "../../src/authn/jwt-config.ts";
import { TestCA } from "../../testbed/ca.ts";
import { generateIssuerKeys, keyByKid } from "../../testbed/issuer/keys.ts";
import { mintJwt } from "../../testbed/issuer/raw-signer.ts";

const audience = "kubernetes";

describe("distributed claims: verifiers per untrusted issuer are bounded", { timeout: 60_000 }, () => {
  const keys = generateIssuerKeys();
  const signing = keyByKid(keys, "rsa-1");
  const discoveries = new Map<string, number>();
  let ca: TestCA;
  let server: Server;
  let base: string;

  before(async () => {
    ca = await TestCA.create();
    const leaf = await ca.issue({ commonName: "claims", ipAddresses: ["127.0.0.1"], usage: "server" });
    server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
      const url = req.url ?? "/";
      const claims = /^\/claims\/([\w-]+)$/.exec(url);
      if (claims) {
        const name = claims[1] ?? "";
        res.setHeader("content-type", "application/jwt");
        return void res.end(
          mintJwt({
            alg: "RS256",
            key: signing,
            claims: {
              iss: `${base}/issuers/${name}`,
              aud: audience,
              sub: "s",
              exp: Math.floor(Date.now() / 1000) + 300,
              groups: [`group-${name}`],
            },
          }),
        );
      }
      const discovery = /^\/issuers\/([\w-]+)\/\.well-known\/openid-configuration$/.exec(url);
      if (discovery) {
        const name = discovery[1] ?? "";
        discoveries.set(name, (discoveries.get(name) ?? 0) + 1);
        // Only the "good-" issuers exist; the rest are what a hostile source would name.
        if (!name.startsWith("good-")) return void res.writeHead(404).end();
        res.setHeader("content-type", "application/json");
        return void res.end(JSON.stringify({ issuer: `${base}/issuers/${name}`, jwks_uri: `${base}/jwks` }));
      }
      if (url === "/jwks") {
        res.setHeader("content-type", "application/json");
        return void res.end(JSON.stringify({ keys: keys.published.map((k) => k.publicJwk) }));
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const config = (): JwtAuthenticatorConfig => ({
    issuer: { url: `${base}/main`, certificateAuthority: ca.certPem, audiences: [audience] },
    claimMappings: { username: { claim: "sub", prefix: "" } },
    requiredClaims: {},
    signingAlgorithms: ["RS256"],
  });
  const claimsFrom = (name: string): Record<string, unknown> => ({
    _claim_names: { groups: "src" },
    _claim_sources: { src: { endpoint: `${base}/claims/${name}`, access_token: "t" } },
  });
  /** The groups resolved, or the refusal's message. */
  const expand = async (resolver: DistributedClaimsResolver, name: string) => {
    const claims = claimsFrom(name);
    try {
      await resolver.expand(claims);
      return claims.groups;
    } catch (error) {
      return (error as Error).message;
    }
  };

  it("many tokens with distinct claim-source issuers do not grow the verifiers without bound", async () => {
    const resolver = new DistributedClaimsResolver(config(), "groups");
    try {
      // A real issuer, resolved once its discovery is done (the first token fails, as in kube-apiserver).
      assert.match(String(await expand(resolver, "good-1")), /verifier not initialized for issuer/);
      const deadline = Date.now() + 10_000;
      let groups = await expand(resolver, "good-1");
      while (Date.now() < deadline && !Array.isArray(groups)) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        groups = await expand(resolver, "good-1");
      }
      assert.deepEqual(groups, ["group-good-1"]);

      for (let i = 0; i < 300; i++) {
        assert.match(String(await expand(resolver, `hostile-${i}`)), /verifier not initialized for issuer/);
      }
      const count = resolver.verifierCount;
      assert.ok(typeof count === "number" && count <= 64, `verifiers after 300 hostile issuers: ${count}`);
      // The issuer that answered keeps its verifier: its next token is decided as before the flood.
      assert.deepEqual(await expand(resolver, "good-1"), ["group-good-1"]);
    } finally {
      resolver.close();
    }
  });

  it("stops retrying discovery for an issuer nobody asks about any more", async () => {
    const resolver = new DistributedClaimsResolver(config(), "groups", undefined, { giveUpAfterMs: 500 });
    try {
      assert.match(String(await expand(resolver, "gone-1")), /verifier not initialized for issuer/);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      assert.equal(resolver.verifierCount, 0, "the abandoned verifier is dropped");
      const tries = discoveries.get("gone-1");
      await new Promise((resolve) => setTimeout(resolve, 10_500)); // past the 10 s discovery retry
      assert.equal(discoveries.get("gone-1"), tries, "no discovery after giving up");
      // A later token from it starts again, and is refused as kube-apiserver refuses it meanwhile.
      assert.match(String(await expand(resolver, "gone-1")), /verifier not initialized for issuer/);
      assert.equal(resolver.verifierCount, 1);
    } finally {
      resolver.close();
    }
  });
});
