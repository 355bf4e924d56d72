// The chart's render-time checks found wanting in issue 20's review: a Redis password written to
// the ConfigMap, the login issuer (session-issuer-url) left out of the in-cluster check, an
// any-destination issuer rule beside the in-cluster one when two issuers share a host, and the
// required values named one per render.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import {
  chartDir,
  type HelmRun,
  helm,
  helmBinary,
  helmBuildTimeoutMs,
  imageArgs,
  issuerArgs,
  issuerEgressRules,
  release,
  render,
  templateArgs,
} from "./chart.ts";

const timeout = 60_000;

const template = (args: readonly string[]): Promise<HelmRun> =>
  helm(["template", release.name, chartDir, "--namespace", release.namespace, ...templateArgs({ args })]);

const sets = (...pairs: string[]) => pairs.flatMap((pair) => ["--set", pair]);

/** The issuer pods of examples/keycloak-in-cluster.yaml. */
const inCluster = sets(
  "issuer.inCluster.namespace=keycloak",
  "issuer.inCluster.podSelector.app=keycloak",
  "issuer.inCluster.port=8443",
);

const podRules = {
  policy: [
    {
      ports: [{ port: 8443, protocol: "TCP" }],
      to: [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "keycloak" } },
          podSelector: { matchLabels: { app: "keycloak" } },
        },
      ],
    },
  ],
  cilium: [
    {
      toEndpoints: [{ matchLabels: { "k8s:io.kubernetes.pod.namespace": "keycloak", app: "keycloak" } }],
      toPorts: [{ ports: [{ port: "8443", protocol: "TCP" }] }],
    },
  ],
};

const authenticationConfiguration = (issuers: readonly Record<string, string>[]) => [
  "--set-json",
  `authenticationConfiguration=${JSON.stringify({
    apiVersion: "apiserver.config.k8s.io/v1",
    kind: "AuthenticationConfiguration",
    jwt: issuers.map((issuer) => ({
      issuer: { ...issuer, audiences: ["kubernetes"] },
      claimMappings: { username: { claim: "sub", prefix: "" } },
    })),
  })}`,
];

describe("chart values checks (issue 20 review)", () => {
  before(
    async () => {
      await helmBinary();
    },
    { timeout: helmBuildTimeoutMs },
  );

  describe("a Redis password in the config ConfigMap", () => {
    const secret = "hunter2";

    it("config.session-redis-url with a password fails the render, names session.redisPassword and does not print it", {
      timeout,
    }, async () => {
      // A raw "/" in the password too: Go's url.Parse fails on it, and Sprig's urlParse would quote it.
      for (const url of [
        `redis://:${secret}@redis:6379`,
        `rediss://gateway:${secret}@redis.sessions.svc:6379/0`,
        `redis://gateway:hun/${secret}@redis:6379`,
      ]) {
        const result = await template([
          ...issuerArgs,
          ...sets("config.session-store=redis", `config.session-redis-url=${url}`),
        ]);
        assert.notEqual(result.code, 0, url);
        assert.match(result.stderr, /config\.session-redis-url carries a password/, url);
        assert.match(result.stderr, /session\.redisPassword/);
        assert.match(result.stderr, /config\.session-redis-username/);
        assert.ok(!result.stderr.includes(secret) && !result.stdout.includes(secret), `${url}: ${result.stderr}`);
      }
      // A user alone is no secret (serve takes it from the URL).
      const userOnly = await render({
        args: [
          ...issuerArgs,
          ...sets("config.session-store=redis", "config.session-redis-url=redis://gateway@redis:6379"),
        ],
      });
      assert.match(
        userOnly.one("ConfigMap").data["config.yaml"],
        /"session-redis-url": "redis:\/\/gateway@redis:6379"/,
      );
    });

    it("sentinel and cluster connection URLs with userinfo fail the render, as a list or a comma string, unprinted", {
      timeout,
    }, async () => {
      const sentinel = [
        ...issuerArgs,
        ...sets("config.session-store=redis", "config.session-redis-sentinel-master-name=sessions"),
      ];
      for (const [args, entries] of [
        [
          [
            ...sentinel,
            "--set",
            `config.session-redis-sentinel-connection-urls=s-0:26379\\,redis://:${secret}@s-1:26379`,
          ],
          "entry 2",
        ],
        [
          [
            ...sentinel,
            "--set-json",
            `config.session-redis-sentinel-connection-urls=["gateway:${secret}@s-0:26379","s-1:26379"]`,
          ],
          "entry 1",
        ],
      ] as const) {
        const result = await template(args);
        assert.notEqual(result.code, 0);
        assert.match(
          result.stderr,
          new RegExp(`config\\.session-redis-sentinel-connection-urls, ${entries}: a user or password`),
        );
        assert.match(result.stderr, /session\.redisSentinelPassword/);
        assert.ok(!result.stderr.includes(secret), result.stderr);
      }
      const cluster = await template([
        ...issuerArgs,
        "--set",
        "config.session-store=redis",
        "--set-json",
        `config.session-redis-cluster-connection-urls=["rediss://:${secret}@n-0:6379","rediss://gateway@n-1:6379"]`,
      ]);
      assert.match(cluster.stderr, /config\.session-redis-cluster-connection-urls, entries 1, 2: a user or password/);
      assert.match(cluster.stderr, /session\.redisPassword/);
      assert.ok(!cluster.stderr.includes(secret), cluster.stderr);
      // Without userinfo the lists render as before.
      await render({
        args: [...sentinel, "--set", "config.session-redis-sentinel-connection-urls=s-0:26379\\,redis://s-1:26379"],
      });
    });
  });

  it("config.session-issuer-url on an in-cluster host counts as an issuer the gateway fetches (browser login egress)", {
    timeout,
  }, async () => {
    const sessions = [
      ...issuerArgs,
      ...sets(
        // One replica: more need the Redis store (a check of its own).
        "replicaCount=1",
        "config.session-client-id=gateway",
        "config.session-issuer-url=https://keycloak.keycloak.svc/realms/kubernetes",
        "ciliumNetworkPolicy.enabled=true",
      ),
    ];
    const refused = await template(sessions);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /the issuer keycloak\.keycloak\.svc is a Service in the cluster/);
    // With the pods named: their rule, and the default rule stays for the external oidc-issuer-url.
    const { policy, cilium } = issuerEgressRules(await render({ args: [...sessions, ...inCluster] }));
    assert.deepEqual(policy[0], podRules.policy[0]);
    assert.deepEqual(cilium[0], podRules.cilium[0]);
    assert.equal(policy.length, 2, JSON.stringify(policy));
    assert.ok(JSON.stringify(cilium[1]).includes("world"), JSON.stringify(cilium));

    // One jwt[] issuer whose discoveryURL is public: browser login discovers from its url.
    const oneJwt = await template([
      ...imageArgs,
      ...authenticationConfiguration([
        {
          url: "https://keycloak.keycloak.svc/realms/kubernetes",
          discoveryURL: "https://keycloak.example.com/realms/kubernetes/.well-known/openid-configuration",
        },
      ]),
      ...sets("replicaCount=1", "config.session-client-id=gateway"),
    ]);
    assert.match(oneJwt.stderr, /the issuer keycloak\.keycloak\.svc is a Service in the cluster/);
  });

  it("two issuers on one in-cluster host get only the pods' rule, no any-destination 443 or world rule", {
    timeout,
  }, async () => {
    const rendered = await render({
      args: [
        ...authenticationConfiguration([
          { url: "https://keycloak.keycloak.svc/realms/kubernetes" },
          { url: "https://keycloak.keycloak.svc/realms/operators" },
        ]),
        ...sets("ciliumNetworkPolicy.enabled=true"),
        ...inCluster,
      ],
    });
    assert.deepEqual(issuerEgressRules(rendered), podRules);
  });

  it("the default values' one message names every missing required value: image.repository and config.oidc-issuer-url", {
    timeout,
  }, async () => {
    const defaults = await helm(["template", release.name, chartDir]);
    assert.notEqual(defaults.code, 0);
    assert.match(defaults.stderr, /2 problems with the values:/);
    assert.match(defaults.stderr, /\n- image\.repository is the placeholder registry\.example\.com\/kube-oidc-gateway/);
    assert.match(defaults.stderr, /\n- no issuer: set config\.oidc-issuer-url and config\.oidc-client-id/);
    const noClient = await helm([
      "template",
      release.name,
      chartDir,
      "--set",
      "config.oidc-issuer-url=https://issuer.example.com",
    ]);
    assert.match(noClient.stderr, /\n- image\.repository is the placeholder/);
    assert.match(noClient.stderr, /\n- config\.oidc-client-id is not set/);
  });
});
