// Regression tests for the client listener's limits, against the real gateway in front of the
// real kube-apiserver: request targets that are not a path, unknown methods, and the HTTP/2
// header and stream limits. Each names what was broken before the fix.
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import {
  bedOidcFlags,
  gatewayReady,
  prepareGatewayCredentials,
  type RunningGateway,
  startTestGateway,
} from "../../testbed/gateway.ts";
import { rawExchange } from "../hardening/raw-client.ts";

interface H2Answer {
  readonly status: number;
  readonly body: string;
  /** The stream's RST_STREAM code when it was reset instead of answered (0 when answered). */
  readonly rstCode: number;
}

function h2Request(
  url: string,
  ca: string,
  headers: http2.OutgoingHttpHeaders,
): Promise<H2Answer & { maxConcurrentStreams: number | undefined }> {
  return new Promise((resolve) => {
    // The client would refuse to send a header block over 64 KiB itself (its frameError, REFUSED_STREAM).
    const session = http2.connect(url, { ca, maxHeaderListPairs: 10_000, maxSendHeaderBlockLength: 1 << 20 });
    session.on("error", () => {});
    const stream = session.request(headers, { endStream: headers[":method"] !== "CONNECT" });
    if (headers[":method"] === "CONNECT") stream.end();
    let status = 0;
    let body = "";
    stream.on("response", (h) => {
      status = Number(h[":status"]);
    });
    stream.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    stream.on("error", () => {});
    stream.on("close", () => {
      const maxConcurrentStreams = session.remoteSettings.maxConcurrentStreams;
      session.close();
      resolve({ status, body, rstCode: stream.rstCode ?? 0, maxConcurrentStreams });
    });
  });
}

describe("the client listener's limits", { timeout: 300_000 }, () => {
  let bed: TestBed;
  let gateway: RunningGateway;
  let jane: string;

  before(async () => {
    bed = await startTestBed();
    // 128 KiB: a header block over it still fits the 8 CONTINUATION frames of 16 KiB that
    // nghttp2 accepts from a client that does not use larger frames (node:http2 does not).
    gateway = await startTestGateway(await prepareGatewayCredentials(bed), [
      ...bedOidcFlags(bed),
      `--max-header-bytes=${128 * 1024}`,
    ]);
    await gatewayReady(gateway);
    jane = (await bed.login("jane")).idToken;
  });
  after(async () => {
    await gateway?.gateway.stop();
    await bed?.stop();
  });

  const authentications = () =>
    gateway.gateway.metrics.authentications.get({ result: "failure", reason: "MALFORMED" }) +
    gateway.gateway.metrics.authentications.get({ result: "success", reason: "" }) +
    gateway.gateway.metrics.authentications.get({ result: "cached", reason: "" });

  for (const [name, requestLine] of [
    ["absolute-form", "GET https://kubernetes.default.svc/api/v1/namespaces/default/pods HTTP/1.1"],
    ["asterisk-form", "OPTIONS * HTTP/1.1"],
    ["authority-form", "CONNECT kubernetes.default.svc:443 HTTP/1.1"],
  ] as const) {
    it(`refuses an HTTP/1.1 ${name} request target with a 400 Status before authentication (it was authenticated and forwarded)`, async () => {
      const before = authentications();
      const { responses } = await rawExchange(
        gateway.url,
        bed.ca.certPem,
        `${requestLine}\r\nHost: kubernetes.default.svc\r\nAuthorization: Bearer ${jane}\r\n\r\n`,
      );
      const response = responses[0];
      assert.equal(response?.status, 400, JSON.stringify(responses));
      const status = JSON.parse(response.body);
      assert.equal(status.kind, "Status");
      assert.equal(status.reason, "BadRequest");
      assert.equal(authentications(), before, "no authentication took place");
    });
  }

  it("refuses HTTP/2 `OPTIONS *` and CONNECT with a 400 Status (they were authenticated, or got a bare 405)", async () => {
    const before = authentications();
    for (const headers of [
      { ":method": "OPTIONS", ":path": "*", authorization: `Bearer ${jane}` },
      { ":method": "CONNECT", ":authority": "kubernetes.default.svc:443", authorization: `Bearer ${jane}` },
    ]) {
      const answer = await h2Request(gateway.url, bed.ca.certPem, headers);
      assert.equal(answer.status, 400, `${headers[":method"]}: ${JSON.stringify(answer)}`);
      assert.equal(JSON.parse(answer.body).reason, "BadRequest");
    }
    assert.equal(authentications(), before, "no authentication took place");
  });

  it("answers an HTTP/2 request with 200 headers of 600 bytes (it was reset with ENHANCE_YOUR_CALM)", async () => {
    const headers: http2.OutgoingHttpHeaders = { ":path": "/version", authorization: `Bearer ${jane}` };
    for (let i = 0; i < 200; i++) headers[`x-filler-${i}`] = "v".repeat(600);
    const answer = await h2Request(gateway.url, bed.ca.certPem, headers);
    assert.equal(answer.rstCode, 0, `reset with ${answer.rstCode}`);
    assert.equal(answer.status, 200, answer.body);
  });

  it("answers 431 to HTTP/2 headers over --max-header-bytes (they were reset with ENHANCE_YOUR_CALM)", async () => {
    const headers: http2.OutgoingHttpHeaders = {
      ":path": "/api/v1/namespaces/default/pods",
      authorization: `Bearer ${jane}`,
    };
    // 135 KB against --max-header-bytes=128 KiB.
    for (let i = 0; i < 210; i++) headers[`x-filler-${i}`] = "v".repeat(600);
    const answer = await h2Request(gateway.url, bed.ca.certPem, headers);
    assert.equal(answer.rstCode, 0, `reset with ${answer.rstCode}`);
    assert.equal(answer.status, 431, answer.body);
    assert.equal(JSON.parse(answer.body).kind, "Status");
  });

  it("limits HTTP/2 streams per connection to kube-apiserver's 100 (Node advertised no limit)", async () => {
    const answer = await h2Request(gateway.url, bed.ca.certPem, {
      ":path": "/version",
      authorization: `Bearer ${jane}`,
    });
    assert.equal(answer.maxConcurrentStreams, 100);
  });
});
