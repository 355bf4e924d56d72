import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clientResponseHeaders, forwardableClientHeaders, upstreamRequestHeaders } from "../../src/proxy/headers.ts";

const pairs = (flat: string[]) => {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i] ?? "", flat[i + 1] ?? ""]);
  return out;
};

describe("headers across the gateway", () => {
  const raw = [
    "Host",
    "gateway.example.com",
    "Authorization",
    "Bearer client-token",
    "Cookie",
    "session=1",
    "X-Remote-User",
    "admin",
    "Connection",
    "keep-alive, X-Custom-Hop",
    "X-Custom-Hop",
    "1",
    "Keep-Alive",
    "timeout=5",
    "Transfer-Encoding",
    "chunked",
    "X-Forwarded-For",
    "6.6.6.6",
    "Accept",
    "application/json",
    "User-Agent",
    "kubectl/v1.37.2",
  ];

  it("drops client credentials, hop-by-hop headers and untrusted forwarding headers", () => {
    const out = pairs(
      upstreamRequestHeaders({
        rawHeaders: raw,
        upstreamHost: "10.0.0.1:443",
        authorization: "Bearer gateway-token",
        identity: [["Impersonate-User", "jane"]],
        clientAddress: "192.0.2.7",
        trustForwarded: false,
      }),
    );
    assert.deepEqual(out, [
      ["Accept", "application/json"],
      ["User-Agent", "kubectl/v1.37.2"],
      ["Host", "10.0.0.1:443"],
      ["X-Forwarded-For", "192.0.2.7"],
      ["Authorization", "Bearer gateway-token"],
      ["Impersonate-User", "jane"],
    ]);
  });

  it("keeps the X-Forwarded-For chain of a trusted proxy and appends the proxy", () => {
    const out = pairs(
      upstreamRequestHeaders({
        rawHeaders: raw,
        upstreamHost: "h",
        authorization: undefined,
        identity: [],
        clientAddress: "10.1.1.1",
        trustForwarded: true,
      }),
    );
    assert.deepEqual(
      out.find(([n]) => n === "X-Forwarded-For"),
      ["X-Forwarded-For", "6.6.6.6, 10.1.1.1"],
    );
  });

  it("keeps Upgrade for upgrades and replaces the WebSocket protocols", () => {
    const out = pairs(
      upstreamRequestHeaders({
        rawHeaders: [
          "Sec-WebSocket-Protocol",
          "base64url.bearer.authorization.k8s.io.x, v5.channel.k8s.io",
          "Upgrade",
          "websocket",
        ],
        upstreamHost: "h",
        authorization: undefined,
        identity: [],
        clientAddress: undefined,
        trustForwarded: false,
        upgrade: "websocket",
        websocketProtocols: "v5.channel.k8s.io",
      }),
    );
    assert.deepEqual(out, [
      ["Host", "h"],
      ["Connection", "Upgrade"],
      ["Upgrade", "websocket"],
      ["Sec-WebSocket-Protocol", "v5.channel.k8s.io"],
    ]);
  });

  it("one policy for every upstream: no identity an auth proxy's downstream would trust", () => {
    const claimed = [
      "X-Auth-Request-User",
      "X-Auth-Request-Groups",
      "X-Forwarded-User",
      "X-Forwarded-Email",
      "X-Forwarded-Groups",
      "X-Forwarded-Preferred-Username",
      "X-Forwarded-Prefix",
      "Remote-User",
      "Remote-Groups",
      "X-Remote-Uid",
      "Impersonate-Uid",
    ].flatMap((name) => [name, "admin"]);
    const { headers, forwardedFor } = forwardableClientHeaders([...claimed, "Accept", "*/*"], {
      trustForwarded: true,
    });
    assert.deepEqual(pairs(headers), [["Accept", "*/*"]]);
    assert.equal(forwardedFor, undefined);
    const upstream = upstreamRequestHeaders({
      rawHeaders: claimed,
      upstreamHost: "h",
      authorization: undefined,
      identity: [],
      clientAddress: undefined,
      trustForwarded: false,
    });
    assert.deepEqual(pairs(upstream), [["Host", "h"]]);
  });

  it("passes response headers except hop-by-hop ones", () => {
    assert.deepEqual(
      clientResponseHeaders([
        "Content-Type",
        "application/json",
        "Connection",
        "close",
        "Transfer-Encoding",
        "chunked",
        "Audit-Id",
        "x",
        "Warning",
        "a",
        "Warning",
        "b",
      ]),
      { "content-type": ["application/json"], "audit-id": ["x"], warning: ["a", "b"] },
    );
  });
});
