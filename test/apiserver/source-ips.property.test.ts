// Generated differential: an audit event's sourceIPs as the gateway writes them and as
// k8s.io/apimachinery@v0.37.2 pkg/util/net SourceIPs computes them (the bed's audit oracle, built
// from the same sources as kube-apiserver), for forwarded-for chains, real-IP headers and
// connection addresses in every spelling Go's sloppy parser and Node may give.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { sourceIps } from "../../src/apiserver/source-ips.ts";
import { type AuditOracle, startAuditOracle } from "../../testbed/audit-oracle.ts";
import { propertyParameters } from "../helpers/property-seed.ts";

const address = fc.oneof(
  fc.ipV4(),
  fc.ipV4Extended(),
  fc.ipV6(),
  fc.ipV4().map((ip) => `::ffff:${ip}`),
  fc.ipV4().map((ip) => ip.replace(/(^|\.)(\d)(?=\.|$)/g, "$100$2")),
  fc.constantFrom("::1", "fe80::1%eth0", "1.2.3.256", "::1.2.3.4", "junk", "", " 10.0.0.1 ", "2001:DB8::1"),
);
const chain = fc
  .array(address, { minLength: 1, maxLength: 4 })
  .chain((ips) => fc.constantFrom(",", ", ", " ,").map((separator) => ips.join(separator)));
/** What Node's socket gives as remoteAddress: an address without port, IPv4 often mapped. */
const remote = fc.oneof(
  fc.ipV4(),
  fc.ipV4().map((ip) => `::ffff:${ip}`),
  fc.ipV6(),
  fc.constant("::1"),
);

describe("sourceIps against kube-apiserver's SourceIPs", () => {
  let oracle: AuditOracle;
  before(async () => {
    oracle = await startAuditOracle();
  });
  after(async () => {
    await oracle?.close();
  });

  it("generated headers and peers: the same addresses, in the same order", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(chain, { maxLength: 2 }),
        fc.array(address, { maxLength: 2 }),
        remote,
        async (forwardedFor, realIp, peer) => {
          const raw: string[] = [];
          for (const value of forwardedFor) raw.push("X-Forwarded-For", value);
          for (const value of realIp) raw.push("X-Real-Ip", value);
          const remoteAddr = peer.includes(":") ? `[${peer}]:52000` : `${peer}:52000`;
          const answer = await oracle.ask({
            op: "sourceIPs",
            headers: { "X-Forwarded-For": forwardedFor, "X-Real-Ip": realIp },
            remoteAddr,
          });
          assert.ok("ips" in answer, JSON.stringify(answer));
          assert.deepEqual(sourceIps(raw, peer), answer.ips, JSON.stringify({ raw, peer }));
        },
      ),
      propertyParameters(),
    );
  });
});
