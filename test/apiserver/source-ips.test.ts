// kube-apiserver's audit sourceIPs (k8s.io/apimachinery@v0.37.2 pkg/util/net/http.go SourceIPs),
// with the cases of its own http_test.go TestSourceIPs and Go's net.IP.String() forms.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canonicalIp, isTrustedProxy, sourceIps, trustedProxyList } from "../../src/apiserver/source-ips.ts";

describe("sourceIps", () => {
  it("lists X-Forwarded-For, then X-Real-Ip unless listed, then the peer unless it is the last", () => {
    const cases: [Record<string, string>, string | undefined, string[]][] = [
      [{}, "1.2.3.4", ["1.2.3.4"]],
      [{ "x-forwarded-for": "1.1.1.1, 2.2.2.2" }, "1.2.3.4", ["1.1.1.1", "2.2.2.2", "1.2.3.4"]],
      [{ "x-forwarded-for": "1.1.1.1, junk, 2.2.2.2" }, "2.2.2.2", ["1.1.1.1", "2.2.2.2"]],
      [{ "x-real-ip": "3.3.3.3" }, "1.2.3.4", ["3.3.3.3", "1.2.3.4"]],
      [{ "x-forwarded-for": "3.3.3.3", "x-real-ip": "3.3.3.3" }, "1.2.3.4", ["3.3.3.3", "1.2.3.4"]],
      [{ "x-forwarded-for": "fd00::1, 010.0.0.1" }, "::ffff:127.0.0.1", ["fd00::1", "10.0.0.1", "127.0.0.1"]],
      [{ "x-real-ip": "not an address" }, undefined, []],
    ];
    for (const [headers, remote, expected] of cases) {
      assert.deepEqual(sourceIps(Object.entries(headers).flat(), remote), expected, JSON.stringify([headers, remote]));
    }
  });

  it("writes addresses as Go's net.IP.String does", () => {
    const cases: [string, string | undefined][] = [
      ["001.002.003.004", "1.2.3.4"],
      ["::FFFF:7f00:1", "127.0.0.1"],
      ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
      ["::1.2.3.4", "::102:304"],
      ["fe80::1%eth0", undefined],
      ["1.2.3.256", undefined],
      ["", undefined],
    ];
    for (const [text, expected] of cases) assert.equal(canonicalIp(text), expected, text);
  });
});

describe("--trusted-proxies as a BlockList (trustedProxyList, isTrustedProxy)", () => {
  it("matches addresses and CIDR ranges, IPv4 and IPv6, and an IPv4 client a dual-stack listener sees as ::ffff:a.b.c.d", () => {
    // Node documents the IPv4-mapped match: https://nodejs.org/api/net.html#blocklistcheckaddress-type
    const list = trustedProxyList(["10.0.0.7", "192.168.0.0/16", "fd00::/8"]);
    const trusted = (address: string | undefined) => isTrustedProxy(list, address);
    assert.equal(trusted("10.0.0.7"), true);
    assert.equal(trusted("10.0.0.8"), false);
    assert.equal(trusted("192.168.200.1"), true);
    assert.equal(trusted("192.169.0.1"), false);
    assert.equal(trusted("::ffff:192.168.3.4"), true);
    assert.equal(trusted("::ffff:10.0.0.7"), true);
    assert.equal(trusted("fd12:3456::1"), true);
    assert.equal(trusted("fe80::1"), false);
    assert.equal(trusted(undefined), false);
    assert.equal(trusted("not an address"), false);
  });
  it("trusts nobody when empty", () => {
    assert.equal(isTrustedProxy(trustedProxyList([]), "127.0.0.1"), false);
  });
});
