// The login issuer's discovery, against the bed's oidc-provider.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SessionConfig } from "../../src/config/session-config.ts";
import { IssuerClient } from "../../src/session/issuer-client.ts";
import { TestCA } from "../../testbed/ca.ts";
import { waitFor } from "../../testbed/http.ts";
import { clients, startOidcIssuer } from "../../testbed/issuer/oidc-provider.ts";
import { freePort } from "../../testbed/ports.ts";

describe("IssuerClient", () => {
  it("regression: an issuer down at start-up is discovered once it answers (readiness no longer waits forever)", async () => {
    const ca = await TestCA.create();
    const port = await freePort();
    const config = {
      issuerUrl: `https://127.0.0.1:${port}`,
      issuerCa: ca.certPem,
      clientId: clients.kubernetes.id,
      clientSecret: clients.kubernetes.secret,
      externalUrl: "https://127.0.0.1:1",
      scopes: ["openid"],
    } as unknown as SessionConfig;
    const client = new IssuerClient(config);
    const failures: string[] = [];
    client.start(200, (error) => failures.push(error.message));
    await waitFor("a failed discovery", async () => failures.length > 0, { timeoutMs: 10_000 });
    assert.match(client.notReadyReason ?? "", /discovery failed/);

    const issuer = await startOidcIssuer({ tls: await ca.issueLoopbackServer("oidc-provider"), port });
    try {
      await waitFor("discovery after the issuer came up", async () => client.notReadyReason === undefined, {
        timeoutMs: 10_000,
      });
      const authorize = await client.authorizationUrl(IssuerClient.newLoginChecks());
      assert.equal(authorize.origin, issuer.url);
    } finally {
      client.close();
      await issuer.close();
    }
  });
});
