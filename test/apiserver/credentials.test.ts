import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bearerToken, websocketProtocolToken } from "../../src/apiserver/credentials.ts";

const encoded = (token: string) => `base64url.bearer.authorization.k8s.io.${Buffer.from(token).toString("base64url")}`;

describe("client credentials (kube-apiserver's bearertoken and websocket protocol authenticators)", () => {
  it("reads the Authorization header like kube-apiserver", () => {
    assert.equal(bearerToken("Bearer abc"), "abc");
    assert.equal(bearerToken("  bearer abc  "), "abc");
    assert.equal(bearerToken("Bearer abc def"), "abc");
    assert.equal(bearerToken("Basic abc"), undefined);
    assert.equal(bearerToken("Bearer"), undefined);
    assert.equal(bearerToken("Bearer  abc"), undefined, "an empty second field is no token");
    assert.equal(bearerToken(undefined), undefined);
  });

  it("takes the token out of Sec-WebSocket-Protocol and keeps the other protocols", () => {
    assert.deepEqual(websocketProtocolToken([`${encoded("t0k")}, v5.channel.k8s.io`, "v4.channel.k8s.io"]), {
      token: "t0k",
      remaining: "v5.channel.k8s.io,v4.channel.k8s.io",
    });
    assert.equal(websocketProtocolToken(["v5.channel.k8s.io"]), undefined);
  });

  const refused: [string, string[], RegExp][] = [
    [
      "two tokens",
      [`${encoded("a")},${encoded("b")},v5.channel.k8s.io`],
      /multiple base64.bearer.authorization tokens/,
    ],
    ["no other subprotocol", [encoded("a")], /missing additional subprotocol/],
    [
      "standard base64 with padding",
      ["base64url.bearer.authorization.k8s.io.YQ==,v5.channel.k8s.io"],
      /invalid base64.bearer.authorization token encoding/,
    ],
    [
      "invalid UTF-8",
      [`base64url.bearer.authorization.k8s.io.${Buffer.from([0xff, 0xfe]).toString("base64url")},v5.channel.k8s.io`],
      /invalid base64.bearer.authorization token$/,
    ],
  ];
  for (const [what, headers, message] of refused) {
    it(`refuses ${what}`, () => {
      assert.throws(() => websocketProtocolToken(headers), { code: "WEBSOCKET_PROTOCOL", message });
    });
  }
});
