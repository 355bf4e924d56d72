// The HA session store through a real `serve`: a user logs in (the HTTP login flow of
// session-front.test.ts against the bed's oidc-provider; Chromium would add nothing to what the
// store sees), the Redis master holding the session is SIGKILLed, and the same cookie still gets
// the user's identity from kube-apiserver (SelfSubjectReview through the gateway) with no new
// login: on Sentinel (the sentinels promote the replica) and on a Cluster (the replica of the
// slot's master takes over). Requests during the gap get a 503 Status, never a crash.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import {
  bedOidcFlags,
  type GatewayCredentials,
  gatewayReady,
  prepareGatewayCredentials,
  type RunningGateway,
  sessionGatewayFlags,
  startTestGateway,
} from "../../testbed/gateway.ts";
import { httpsRequest, waitFor } from "../../testbed/http.ts";
import { clients } from "../../testbed/issuer/oidc-provider.ts";
import { freePort } from "../../testbed/ports.ts";
import type { RedisServer } from "../../testbed/redis.ts";
import {
  type RedisClusterSet,
  type RedisSentinelSet,
  redisCli,
  startRedisCluster,
  startRedisSentinel,
  untilReplicated,
} from "../../testbed/redis-ha.ts";
import { loginThroughGateway } from "../helpers/gateway-login.ts";

describe("HA session store through serve: failover keeps the browser session", { timeout: 240_000 }, () => {
  let bed: TestBed;
  let credentials: GatewayCredentials;
  const ports: number[] = [];
  const cleanup: (() => Promise<void>)[] = [];

  before(async () => {
    ports.push(await freePort(), await freePort());
    bed = await startTestBed({ issuerRedirectUris: ports.map((port) => `https://127.0.0.1:${port}/oauth2/callback`) });
    credentials = await prepareGatewayCredentials(bed);
  });
  after(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
    await bed?.stop();
  });

  async function gatewayOn(port: number, storeFlags: string[]): Promise<RunningGateway> {
    const flags = await sessionGatewayFlags(bed, {
      port,
      issuerUrl: bed.issuer.url,
      clientId: clients.kubernetes.id,
      clientSecret: clients.kubernetes.secret,
    });
    const gateway = await startTestGateway(credentials, [
      ...bedOidcFlags(bed),
      ...flags,
      "--session-store=redis",
      ...storeFlags,
    ]);
    cleanup.push(() => gateway.gateway.stop());
    await gatewayReady(gateway);
    return gateway;
  }

  /** Logs jane in, then returns who the API server says the cookie is (or the HTTP status). */
  async function session(port: number) {
    const url = `https://127.0.0.1:${port}`;
    const { cookie } = await loginThroughGateway({
      gatewayUrl: url,
      issuerUrl: bed.issuer.url,
      ca: bed.ca.certPem,
      username: "jane",
      password: "jane-password",
    });
    const whoami = async (): Promise<string | number> => {
      const review = await httpsRequest(`${url}/apis/authentication.k8s.io/v1/selfsubjectreviews`, {
        ca: bed.ca.certPem,
        method: "POST",
        headers: { cookie, origin: url, "sec-fetch-site": "same-origin", "content-type": "application/json" },
        body: JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }),
      });
      if (review.status !== 201) return review.status;
      return (JSON.parse(review.body) as { status: { userInfo: { username: string } } }).status.userInfo.username;
    };
    return { whoami };
  }

  /** Until the same cookie is jane again; the statuses seen on the way. */
  async function afterFailover(whoami: () => Promise<string | number>): Promise<Set<string | number>> {
    const seen = new Set<string | number>();
    await waitFor(
      "the same cookie served again",
      async () => {
        const who = await whoami();
        seen.add(who);
        return who === "jane@example.com";
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    return seen;
  }

  it("Sentinel: the master is SIGKILLed, the sentinels promote the replica, the same cookie is still jane", async () => {
    const set: RedisSentinelSet = await startRedisSentinel({ dir: join(bed.dir, "sentinel") });
    cleanup.push(() => set.stop());
    const port = ports[0] as number;
    await gatewayOn(port, [
      `--session-redis-sentinel-connection-urls=${set.sentinels.map((s) => `127.0.0.1:${s.port}`).join(",")}`,
      `--session-redis-sentinel-master-name=${set.masterName}`,
    ]);
    const { whoami } = await session(port);
    assert.equal(await whoami(), "jane@example.com");
    const [master, replica] = set.nodes as [RedisServer, RedisServer];
    await untilReplicated(master.port, replica.port);
    const killedAt = Date.now();
    process.kill(master.pid, "SIGKILL");
    const seen = await afterFailover(whoami);
    console.log(
      `serve on Sentinel: same cookie served again ${Date.now() - killedAt} ms after the SIGKILL; saw ${[...seen].join(", ")}`,
    );
    assert.equal(await set.masterPort(), replica.port);
    assert.ok(
      [...seen].every((who) => who === "jane@example.com" || who === 503),
      `only 503 in the gap: ${[...seen]}`,
    );
  });

  it("Cluster: the master owning the session's slot is SIGKILLed, its replica takes over, the same cookie is still jane", async () => {
    const cluster: RedisClusterSet = await startRedisCluster({ dir: join(bed.dir, "cluster") });
    cleanup.push(() => cluster.stop());
    const port = ports[1] as number;
    await gatewayOn(port, [
      `--session-redis-cluster-connection-urls=${cluster.nodes
        .slice(0, 2)
        .map((n) => `redis://127.0.0.1:${n.port}`)
        .join(",")}`,
    ]);
    const { whoami } = await session(port);
    assert.equal(await whoami(), "jane@example.com");
    // The one session record on the cluster: find its master and that master's replica.
    let owner: { master: RedisServer; replica: RedisServer } | undefined;
    for (const node of cluster.nodes) {
      if ((await redisCli(node.port, ["ROLE"])).split("\n")[0] !== "master") continue;
      const keys = await redisCli(node.port, ["--scan", "--pattern", "kog:session:*"]);
      if (keys === "") continue;
      const id = await redisCli(node.port, ["CLUSTER", "MYID"]);
      const replicaPort = Number(
        /127\.0\.0\.1:(\d+)@/.exec(await redisCli(node.port, ["CLUSTER", "REPLICAS", id]))?.[1],
      );
      const replica = cluster.nodes.find((n) => n.port === replicaPort);
      if (replica) owner = { master: node, replica };
    }
    assert.ok(owner, "a master holds the session record");
    await untilReplicated(owner.master.port, owner.replica.port);
    const killedAt = Date.now();
    process.kill(owner.master.pid, "SIGKILL");
    const seen = await afterFailover(whoami);
    console.log(
      `serve on Cluster: same cookie served again ${Date.now() - killedAt} ms after the SIGKILL; saw ${[...seen].join(", ")}`,
    );
    assert.ok(
      [...seen].every((who) => who === "jane@example.com" || who === 503),
      `only 503 in the gap: ${[...seen]}`,
    );
  });
});
