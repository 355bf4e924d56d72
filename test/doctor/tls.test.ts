import assert from "node:assert/strict";
import { createServer } from "node:https";
import { describe, it } from "node:test";
import { certificatesIn, describeBundle, probeTls } from "../../src/doctor/tls.ts";
import { TestCA } from "../../testbed/ca.ts";

describe("TLS evidence", () => {
  it("counts and names the certificates of a bundle, as the incident's grep -c did", async () => {
    const [a, b] = await Promise.all([TestCA.create("cluster CA"), TestCA.create("gateway CA")]);
    const bundle = `${a.certPem}\n${b.certPem}\n-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n`;
    assert.equal(certificatesIn(bundle).certificates.length, 2);
    assert.equal(certificatesIn(bundle).unreadable, 1);
    assert.equal(
      describeBundle("ca.crt", bundle),
      'ca.crt holds 2 certificates: "cluster CA" (CA), "gateway CA" (CA), 1 unreadable',
    );
  });

  it("verifies a server with a given bundle and names the chain when it does not", async () => {
    const [ca, other] = await Promise.all([TestCA.create("serving CA"), TestCA.create("unrelated CA")]);
    const pair = await ca.issueLoopbackServer("server");
    const server = createServer({ cert: pair.certPem, key: pair.keyPem }, (_req, res) => res.end());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = new URL(`https://127.0.0.1:${(server.address() as { port: number }).port}`);
    try {
      const good = await probeTls(url, ca.certPem, 5000);
      assert.equal(good.verified, true, good.verifyError);
      const bad = await probeTls(url, other.certPem, 5000);
      assert.equal(bad.reachable, true);
      assert.equal(bad.verified, false);
      assert.deepEqual(bad.chain[0], { subject: "server", issuer: "serving CA" });
      server.close();
      const down = await probeTls(url, ca.certPem, 5000);
      assert.equal(down.reachable, false);
      assert.match(down.error ?? "", /ECONNREFUSED/);
    } finally {
      server.close();
    }
  });
});
