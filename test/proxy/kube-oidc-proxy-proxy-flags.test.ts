// kube-oidc-proxy v0.3.0's proxy flags (pkg/proxy/handlers.go, proxy.go), against the bed's real
// kube-apiserver, whose audit log shows what arrived: --disable-impersonation (the verified token
// goes on as it came, nothing impersonated), --extra-user-header-client-ip (the extra
// remote-client-ip) and --extra-user-headers (extras on every user).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { withholdExtras } from "../../src/apiserver/impersonation-headers.ts";
import { Authenticator } from "../../src/authn/authenticator.ts";
import { TokenReviewer } from "../../src/authn/token-review.ts";
import { ConfigError } from "../../src/config/errors.ts";
import { loadServeConfig } from "../../src/config/serve-config.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import { ApiProxy, type ApiProxyOptions, clientRemoteAddr } from "../../src/proxy/api-proxy.ts";
import { Upstream } from "../../src/upstream/cluster.ts";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import { bedOidcFlags, gatewayFlags, grantGatewayReviews, prepareGatewayCredentials } from "../../testbed/gateway.ts";
import { waitFor } from "../../testbed/http.ts";
import type { AuditEvent } from "../../testbed/kube-apiserver.ts";

type ProxyFlags = Pick<
  ApiProxyOptions,
  "disableImpersonation" | "extraUserHeaderClientIp" | "extraUserHeaders" | "tokenReviewer"
> & {
  readonly trustedProxies?: readonly string[];
};

interface Answer {
  readonly status: number;
  readonly body: string;
  /** The client's own port, which kube-oidc-proxy's remote-client-ip carries. */
  readonly localPort: number;
}

describe("kube-oidc-proxy's proxy flags against kube-apiserver", { timeout: 180_000 }, () => {
  let bed: TestBed;
  let upstream: Upstream;
  let authenticator: Authenticator;
  const servers: http.Server[] = [];
  let janeToken: string;

  before(async () => {
    bed = await startTestBed();
    const credentials = await prepareGatewayCredentials(bed);
    const { config } = loadServeConfig(await gatewayFlags(credentials, bedOidcFlags(bed)), {});
    assert.ok(config);
    upstream = new Upstream({
      kubeconfig: config.upstream.kubeconfig,
      extraCaFile: config.upstream.extraCaFile,
      http2: config.upstream.http2,
    });
    upstream.start();
    const { jwt, allowSystemIdentities, tokenCacheTtlMs } = config.authentication;
    authenticator = new Authenticator({ jwt, allowSystemIdentities, tokenCacheTtlMs });
    authenticator.start();
    await waitFor("the issuer's discovery", async () => authenticator.notReady().length === 0, { timeoutMs: 30_000 });
    janeToken = (await bed.login("jane")).idToken;
  });
  after(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
    authenticator?.close();
    upstream?.close();
    await bed?.stop();
  });

  /** The request pipeline with these flags, on a loopback port. */
  async function proxyWith(flags: ProxyFlags): Promise<number> {
    const proxy = new ApiProxy({
      authenticator,
      upstream,
      logger: createLogger("error", () => {}),
      metrics: createMetrics(),
      trustedProxies: flags.trustedProxies ?? [],
      responseTimeoutMs: 10_000,
      ...flags,
    });
    const server = http.createServer((req, res) => void proxy.handleRequest(req, res));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as AddressInfo).port;
  }

  function get(port: number, path: string, headers: Record<string, string>): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: "127.0.0.1", port, path, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            localPort: req.socket?.localPort ?? 0,
          }),
        );
      });
      req.on("error", reject);
    });
  }

  /** kube-apiserver's audit event of the request carrying `marker` in its query. */
  async function eventOf(marker: string): Promise<AuditEvent> {
    let found: AuditEvent | undefined;
    await waitFor(
      "the audit event",
      async () => {
        found = ((await bed.apiServer?.auditEvents()) ?? []).find((e) => e.requestURI.includes(marker));
        return found !== undefined;
      },
      { timeoutMs: 10_000 },
    );
    assert.ok(found);
    return found;
  }

  const markedPath = (marker: string) => `/api/v1/namespaces/default/configmaps?labelSelector=marker%3D${marker}`;

  it("--disable-impersonation forwards the verified token as it came: the API server authenticates jane itself, nothing impersonated", async () => {
    const port = await proxyWith({ disableImpersonation: true, extraUserHeaderClientIp: true });
    const marker = randomUUID();
    const answer = await get(port, markedPath(marker), { Authorization: `Bearer ${janeToken}` });
    assert.equal(answer.status, 403, answer.body); // jane has no right to list configmaps
    const event = await eventOf(marker);
    assert.equal(event.user.username, "jane@example.com");
    assert.equal(event.impersonatedUser, undefined);
    // The extras are kube-oidc-proxy's impersonation extras: not sent without impersonation.
    assert.equal(event.user.extra?.["remote-client-ip"], undefined);
  });

  it("--disable-impersonation still verifies the token first: an invalid one is refused 401 and never reaches the API server", async () => {
    const port = await proxyWith({ disableImpersonation: true });
    const marker = randomUUID();
    const forged = `${janeToken.slice(0, -4)}AAAA`;
    const answer = await get(port, markedPath(marker), { Authorization: `Bearer ${forged}` });
    assert.equal(answer.status, 401);
    const events = (await bed.apiServer?.auditEvents()) ?? [];
    assert.equal(
      events.find((e) => e.requestURI.includes(marker)),
      undefined,
    );
  });

  it("--disable-impersonation passes the client's own Impersonate-* on, for the API server to authorize for the token's user", async () => {
    const port = await proxyWith({ disableImpersonation: true });
    const marker = randomUUID();
    const answer = await get(port, markedPath(marker), {
      Authorization: `Bearer ${janeToken}`,
      "Impersonate-User": "system:admin",
    });
    assert.equal(answer.status, 403);
    // (v1.37's constrained impersonation names the verb it checked: "cannot impersonate-on:…")
    assert.match(answer.body, /User \\"jane@example.com\\" cannot impersonate/);
  });

  it("--disable-impersonation with --token-passthrough: a reviewed ServiceAccount token goes on with its Impersonate-*, for the API server to authorize", async () => {
    await grantGatewayReviews(bed, ["tokenreviews"]);
    const created = await bed.kubectl(["create", "serviceaccount", "viewer", "--namespace=default"]);
    assert.equal(created.code, 0, created.stderr);
    const token = (await bed.kubectl(["create", "token", "viewer", "--namespace=default"])).stdout.trim();
    const port = await proxyWith({
      disableImpersonation: true,
      tokenReviewer: new TokenReviewer(upstream, [], 10_000),
    });
    const marker = randomUUID();
    const answer = await get(port, markedPath(marker), {
      Authorization: `Bearer ${token}`,
      "Impersonate-User": "system:admin",
    });
    assert.equal(answer.status, 403);
    assert.match(answer.body, /User \\"system:serviceaccount:default:viewer\\" cannot impersonate/);
  });

  it("without --disable-impersonation a client's Impersonate-* is still refused by the gateway", async () => {
    const port = await proxyWith({});
    const answer = await get(port, markedPath(randomUUID()), {
      Authorization: `Bearer ${janeToken}`,
      "Impersonate-User": "system:admin",
    });
    assert.equal(answer.status, 403);
    assert.match(answer.body, /impersonation is not allowed through this gateway/);
  });

  it("--extra-user-header-client-ip and --extra-user-headers reach the API server as the impersonated user's extras", async () => {
    const port = await proxyWith({
      extraUserHeaderClientIp: true,
      extraUserHeaders: { team: ["blue", "green"], "Example.org/Tier": ["gold"] },
    });
    const marker = randomUUID();
    const answer = await get(port, markedPath(marker), { Authorization: `Bearer ${janeToken}` });
    assert.equal(answer.status, 403, answer.body);
    const event = await eventOf(marker);
    assert.equal(event.impersonatedUser?.username, "jane@example.com");
    const extra = event.impersonatedUser?.extra ?? {};
    assert.deepEqual(extra["remote-client-ip"], [`127.0.0.1:${answer.localPort}`]);
    assert.deepEqual(extra.team, ["blue", "green"]);
    // kube-apiserver lower-cases extra keys read from Impersonate-Extra-* headers.
    assert.deepEqual(extra["example.org/tier"], ["gold"]);
  });

  it("extras the gateway may not impersonate (the start-up rights check withholds them) are left out of --extra-user-headers too", async () => {
    const port = await proxyWith({
      extraUserHeaderClientIp: true,
      extraUserHeaders: { Team: ["blue"], tier: ["gold"] },
    });
    withholdExtras(["team"]);
    try {
      const marker = randomUUID();
      assert.equal((await get(port, markedPath(marker), { Authorization: `Bearer ${janeToken}` })).status, 403);
      const extra = (await eventOf(marker)).impersonatedUser?.extra ?? {};
      assert.equal(extra.team, undefined);
      assert.deepEqual(extra.tier, ["gold"]);
      assert.equal(extra["remote-client-ip"]?.length, 1);
    } finally {
      withholdExtras([]);
    }
  });

  it("remote-client-ip takes X-Forwarded-For's first public address only from a trusted proxy", async () => {
    const trusting = await proxyWith({ extraUserHeaderClientIp: true, trustedProxies: ["127.0.0.1"] });
    const untrusting = await proxyWith({ extraUserHeaderClientIp: true });
    const forwardedFor = "10.1.2.3, 203.0.113.7, 198.51.100.9";
    const first = randomUUID();
    const viaTrusted = await get(trusting, markedPath(first), {
      Authorization: `Bearer ${janeToken}`,
      "X-Forwarded-For": forwardedFor,
    });
    assert.deepEqual((await eventOf(first)).impersonatedUser?.extra?.["remote-client-ip"], [
      `203.0.113.7:${viaTrusted.localPort}`,
    ]);
    const second = randomUUID();
    const viaUntrusted = await get(untrusting, markedPath(second), {
      Authorization: `Bearer ${janeToken}`,
      "X-Forwarded-For": forwardedFor,
    });
    assert.deepEqual((await eventOf(second)).impersonatedUser?.extra?.["remote-client-ip"], [
      `127.0.0.1:${viaUntrusted.localPort}`,
    ]);
  });
});

describe("clientRemoteAddr (sebest/xff GetRemoteAddr, as kube-oidc-proxy resolves the client's address)", () => {
  it("joins host and port as Go's net.JoinHostPort does", () => {
    assert.equal(clientRemoteAddr("127.0.0.1", 5000, undefined), "127.0.0.1:5000");
    assert.equal(clientRemoteAddr("::1", 5000, undefined), "[::1]:5000");
    assert.equal(clientRemoteAddr("::ffff:10.0.0.1", 5000, undefined), "10.0.0.1:5000");
  });
  it("skips private, loopback and link-local addresses of X-Forwarded-For as xff.go Parse does", () => {
    assert.equal(clientRemoteAddr("10.0.0.2", 1, "127.0.0.1, 172.16.0.1, 169.254.1.1, fd00::1, 8.8.8.8"), "8.8.8.8:1");
    assert.equal(clientRemoteAddr("10.0.0.2", 1, "2001:db8::1"), "[2001:db8::1]:1");
    assert.equal(clientRemoteAddr("10.0.0.2", 1, "192.168.1.1, garbage"), "10.0.0.2:1");
  });
});

describe("--extra-user-headers values the header cannot carry", () => {
  it("are refused at start-up with a ConfigError", () => {
    assert.throws(
      () =>
        new ApiProxy({
          authenticator: { authenticate: async () => Promise.reject(new Error("unused")) },
          upstream: {} as Upstream,
          logger: createLogger("error", () => {}),
          metrics: createMetrics(),
          trustedProxies: [],
          responseTimeoutMs: 1_000,
          extraUserHeaders: { team: ["line\nbreak"] },
        }),
      (error: unknown) => error instanceof ConfigError && error.code === "EXTRA_USER_HEADER",
    );
  });
});
