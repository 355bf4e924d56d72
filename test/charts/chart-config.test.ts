// The chart and the program agree: the config.yaml the chart renders, with the files its
// projected volume provides, is what `serve --config` accepts. Each file the config names must be
// an item of that volume; the test recreates the volume's files in a temporary folder and points
// the loader at them with flags (flags win over the file, as in the pod's own precedence).
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse as parseYaml, stringify } from "yaml";
import { loadPolicyFile } from "../../src/audit/policy.ts";
import { ConfigError } from "../../src/config/errors.ts";
import { loadServeConfig, type ServeConfig } from "../../src/config/serve-config.ts";
import {
  configDir,
  gatewayExamples,
  helmBinary,
  helmBuildTimeoutMs,
  issuerArgs,
  type Rendered,
  render,
} from "./chart.ts";

/** The Redis store's connection as serve hands it to the session front (config.session.store). */
const redisConnectionOf = (config: ServeConfig) =>
  config.session?.store.kind === "redis" ? config.session.store.connection : undefined;

const timeout = 60_000;

/** Stand-ins for what the referenced Secrets and ConfigMaps hold, by the file's folder. */
function standIn(path: string): string {
  if (path.endsWith(".crt")) return "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  if (path.endsWith(".key")) return "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n";
  // Session secrets: a cookie secret needs 32+ characters per line.
  return `${"s".repeat(48)}\n`;
}

/** The files the pod's projected config volume holds, path in the pod → content. */
function volumeFiles(rendered: Rendered): Map<string, string> {
  const deployment = rendered.one("Deployment");
  const spec = deployment.spec.template.spec;
  const gateway = spec.containers.find((c: { name: string }) => c.name === "kube-oidc-gateway");
  const mount = gateway.volumeMounts.find((m: { name: string }) => m.name === "config");
  assert.equal(mount.mountPath, configDir);
  const volume = spec.volumes.find((v: { name: string }) => v.name === "config");
  const configMap = rendered.one("ConfigMap");
  const files = new Map<string, string>();
  for (const source of volume.projected.sources as Record<string, { name: string; items?: { path: string }[] }>[]) {
    const [kind, ref] = Object.entries(source)[0] as [string, { name: string; items?: { path: string }[] }];
    if (kind === "configMap" && ref.name === configMap.metadata.name) {
      // The chart's own ConfigMap, every key (no items).
      for (const [key, text] of Object.entries(configMap.data as Record<string, string>)) {
        files.set(`${configDir}/${key}`, text);
      }
      continue;
    }
    assert.ok(ref.items?.length, `${kind} ${ref.name} names its items, so the paths are fixed`);
    for (const item of ref.items ?? []) files.set(`${configDir}/${item.path}`, standIn(item.path));
  }
  return files;
}

let scratch: string;

/** Loads the rendered config.yaml as the pod would, with the volume's files under `scratch`. */
async function loadRendered(rendered: Rendered, name: string): Promise<ServeConfig> {
  const files = volumeFiles(rendered);
  const configText = files.get(`${configDir}/config.yaml`);
  assert.ok(configText, "config.yaml is in the volume");
  // JSON (which is YAML), so serve reads it without loading the YAML library (issue 21: idle RSS).
  assert.doesNotThrow(() => JSON.parse(configText), "config.yaml is JSON");
  const root = join(scratch, name);
  const local = (path: string) => join(root, path);
  for (const [path, text] of files) {
    await mkdir(dirname(local(path)), { recursive: true });
    await writeFile(local(path), text);
  }
  const config = parseYaml(configText) as Record<string, unknown>;
  const overrides: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (typeof value !== "string" || !value.startsWith(`${configDir}/`)) continue;
    assert.ok(files.has(value), `${key}: ${value} is a file of the projected volume`);
    overrides.push(`--${key}=${local(value)}`);
  }
  const { config: loaded } = loadServeConfig([`--config=${local(`${configDir}/config.yaml`)}`, ...overrides], {});
  assert.ok(loaded);
  return loaded;
}

describe("the chart's config.yaml is accepted by serve's configuration loader", () => {
  before(
    async () => {
      await helmBinary();
      scratch = await mkdtemp(join(tmpdir(), "kog-chart-config-"));
    },
    { timeout: helmBuildTimeoutMs },
  );
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it("default values: only the issuer is missing, which helm template refuses (before the gateway would)", {
    timeout,
  }, async () => {
    await assert.rejects(render(), /no issuer: set config\.oidc-issuer-url and config\.oidc-client-id/);
    // What the gateway says of the same config.yaml: the chart's check stands in for it.
    const configOnly = await render({ args: ["--set", "config.oidc-issuer-url=https://issuer.example.com"] }).catch(
      (error: Error) => error,
    );
    assert.match(String(configOnly), /config\.oidc-client-id is not set/);
    assert.throws(
      () => loadServeConfig(["--oidc-issuer-url=https://issuer.example.com"], {}),
      (error: unknown) =>
        error instanceof ConfigError &&
        /--oidc-issuer-url and --oidc-client-id must be set together/.test(error.message),
    );
    const withIssuer = await render({ args: issuerArgs });
    const config = await loadRendered(withIssuer, "default-with-issuer");
    assert.equal(config.serving.securePort, 8443);
    assert.equal(config.serving.healthPort, 8080);
    assert.equal(config.upstream.kubeconfig, "", "in-cluster");
  });

  it("examples/keycloak-headlamp.yaml: the incident's prefixes and the issuer CA", { timeout }, async () => {
    const config = await loadRendered(await render({ values: ["keycloak-headlamp.yaml"] }), "keycloak");
    const jwt = config.authentication.jwt[0];
    assert.equal(jwt?.issuer.url, "https://keycloak.example.com/realms/kubernetes");
    assert.deepEqual(jwt?.claimMappings.username, { claim: "preferred_username", prefix: "oidc:" });
    assert.deepEqual(jwt?.claimMappings.groups, { claim: "groups", prefix: "oidc:" });
    assert.match(jwt?.issuer.certificateAuthority ?? "", /BEGIN CERTIFICATE/, "oidc-ca-file is read");
    assert.equal(config.session, undefined);
    assert.equal(config.serving.apiPort, 0, "no dashboard: Headlamp uses the main port, no API listener");
  });

  it("examples/sessions-redis.yaml: session secrets from the mounted Secret, Redis store", { timeout }, async () => {
    const config = await loadRendered(await render({ values: ["sessions-redis.yaml"] }), "sessions");
    assert.equal(config.session?.store.kind, "redis");
    assert.equal(config.session?.clientSecret, "s".repeat(48));
    assert.deepEqual(config.session?.cookieSecrets, ["s".repeat(48)]);
    assert.equal(config.session?.dashboard?.url, "http://headlamp.headlamp.svc");
    // dashboard-upstream turns the API listener on: Headlamp's in-cluster client uses it.
    assert.equal(config.serving.apiPort, 8444);
  });

  // Issue 20: the HA store's credentials come from Secrets in the projected volume, never from
  // config (a ConfigMap): the chart sets the *-file settings and refuses them in config.
  it("session.redisPassword, redisSentinelPassword and redisCA: Sentinel's secrets from the mounted files", {
    timeout,
  }, async () => {
    const args = [
      "--set",
      "config.session-redis-url=",
      "--set",
      "config.session-redis-sentinel-connection-urls=redis-sentinel-0.redis:26379\\,redis-sentinel-1.redis:26379",
      "--set",
      "config.session-redis-sentinel-master-name=sessions",
      "--set",
      "config.session-redis-username=kube-oidc-gateway",
      "--set",
      "session.redisPassword.secretName=redis-auth",
      "--set",
      "session.redisSentinelPassword.secretName=redis-sentinel-auth",
      "--set",
      "session.redisCA.configMap=redis-ca",
    ];
    const rendered = await render({ values: ["sessions-redis.yaml"], args });
    const config = await loadRendered(rendered, "sessions-sentinel");
    const redis = redisConnectionOf(config);
    assert.equal(redis?.topology?.kind, "sentinel");
    assert.equal(redis?.username, "kube-oidc-gateway");
    assert.equal(redis?.password, "s".repeat(48), "the data nodes' password is read from its file");
    assert.match(redis?.ca ?? "", /BEGIN CERTIFICATE/, "the CA is read from its file");
    assert.equal(redis?.tls, true, "a CA turns TLS on");
    const configMap = parseYaml(rendered.one("ConfigMap").data["config.yaml"]) as Record<string, unknown>;
    assert.equal(configMap["session-redis-password-file"], `${configDir}/session/redis-password`);
    assert.equal(configMap["session-redis-sentinel-password-file"], `${configDir}/session/redis-sentinel-password`);
    assert.equal(configMap["session-redis-ca-file"], `${configDir}/session/redis-ca.crt`);
    const refused = await render({
      values: ["sessions-redis.yaml"],
      args: [...args, "--set", "config.session-redis-password-file=/p"],
    }).catch((error: Error) => error);
    assert.match(String(refused), /config\.session-redis-password-file is set by the chart/);
  });

  for (const example of gatewayExamples) {
    it(`examples/${example} loads, with the chart's ports`, { timeout }, async () => {
      const config = await loadRendered(await render({ values: [example] }), `example-${example}`);
      assert.equal(config.serving.securePort, 8443);
      assert.equal(config.serving.healthPort, 8080);
    });
  }

  it("--set forms of list and map values pass the schema and reach serve as its flags would take them", {
    timeout,
  }, async () => {
    // Before issue 20 the schema refused the first and third forms ("got string, want array",
    // "got number, want string"), which serve's config file accepts.
    const loaded = async (name: string, ...sets: string[]) => {
      const config = await loadRendered(
        await render({ args: [...issuerArgs, ...sets.flatMap((set) => ["--set", set])] }),
        name,
      );
      const [jwt] = config.authentication.jwt;
      assert.ok(jwt);
      return { algorithms: jwt.signingAlgorithms, claims: jwt.requiredClaims };
    };
    assert.deepEqual((await loaded("list-one", "config.oidc-signing-algs=ES256")).algorithms, ["ES256"]);
    assert.deepEqual((await loaded("list-commas", "config.oidc-signing-algs=RS256\\,ES256")).algorithms, [
      "RS256",
      "ES256",
    ]);
    assert.deepEqual((await loaded("list-braces", "config.oidc-signing-algs={RS256,ES256}")).algorithms, [
      "RS256",
      "ES256",
    ]);
    assert.deepEqual((await loaded("map-number", "config.oidc-required-claim.level=2")).claims, { level: "2" });
    assert.deepEqual((await loaded("map-text", "config.oidc-required-claim=level=2")).claims, { level: "2" });
  });

  it("an inline AuthenticationConfiguration becomes authentication-config, without oidc-* keys", {
    timeout,
  }, async () => {
    const values = join(scratch, "authentication-configuration.yaml");
    await writeFile(
      values,
      stringify({
        authenticationConfiguration: {
          apiVersion: "apiserver.config.k8s.io/v1",
          kind: "AuthenticationConfiguration",
          jwt: [
            {
              issuer: { url: "https://keycloak.example.com/realms/kubernetes", audiences: ["headlamp"] },
              claimMappings: {
                username: { claim: "preferred_username", prefix: "oidc:" },
                groups: { claim: "groups", prefix: "oidc:" },
              },
            },
          ],
        },
      }),
    );
    const rendered = await render({ args: ["--values", values] });
    const config = await loadRendered(rendered, "authentication-config");
    assert.ok(config.authentication.configFile?.endsWith("/authentication-config.yaml"));
    // JSON (which is YAML), so serve reads it without loading the YAML library.
    assert.equal(
      (JSON.parse(rendered.one("ConfigMap").data["authentication-config.yaml"]) as { kind: string }).kind,
      "AuthenticationConfiguration",
    );
    assert.deepEqual(config.authentication.jwt[0]?.claimMappings.username, {
      claim: "preferred_username",
      prefix: "oidc:",
    });
  });

  it("an inline audit Policy becomes audit-policy-file, and loads as kube-apiserver's policy", {
    timeout,
  }, async () => {
    const values = join(scratch, "audit-policy.yaml");
    await writeFile(
      values,
      stringify({
        auditPolicy: {
          apiVersion: "audit.k8s.io/v1",
          kind: "Policy",
          omitStages: ["RequestReceived"],
          rules: [{ level: "Metadata", resources: [{ group: "", resources: ["secrets"] }] }, { level: "Request" }],
        },
        config: {
          "oidc-issuer-url": "https://keycloak.example.com/realms/kubernetes",
          "oidc-client-id": "kubernetes",
          "audit-log-path": "-",
        },
      }),
    );
    const config = await loadRendered(await render({ args: ["--values", values] }), "audit-policy");
    assert.ok(config.audit.policyFile.endsWith("/audit-policy.yaml"));
    assert.equal(config.audit.log.path, "-");
    const policy = loadPolicyFile(config.audit.policyFile);
    assert.deepEqual(
      policy.rules.map((r) => r.level),
      ["Metadata", "Request"],
    );
    await assert.rejects(
      render({ args: ["--values", values, "--set", "config.audit-policy-file=/elsewhere.yaml"] }),
      /config\.audit-policy-file is set by the chart/,
    );
  });
});
