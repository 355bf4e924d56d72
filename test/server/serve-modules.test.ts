// What a real `kube-oidc-gateway serve` child loads: a serve with --oidc-* flags, no audit and no
// CEL, does not load the CEL library (@marcbachmann/cel-js, re2js, our port) nor the audit
// policy and backends. Each costs idle RSS (issue 21: idle serve RSS ≤ 60 MiB): CEL ~2.5 MiB,
// the audit pipeline ~1 MiB with the built package on Node 24 (bench/cli-startup.ts). The same
// serve with an AuthenticationConfiguration holding a claim validation expression and an audit
// policy does load them, on demand, and still authenticates: the hook sees lazy loads, and the
// lazy paths work in a real process (require() of the ES module, the dynamic import).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import {
  bedOidcFlags,
  type GatewayCredentials,
  prepareGatewayCredentials,
  writeAuthenticationConfig,
} from "../../testbed/gateway.ts";
import { httpsRequest } from "../../testbed/http.ts";
import { clients } from "../../testbed/issuer/oidc-provider.ts";
import { startServeChild } from "../../testbed/serve-child.ts";

// Records the URL of every module the process loads, by import or require (module.registerHooks
// sees both: https://nodejs.org/api/module.html#customization-hooks), one per line in a file.
const hook = `data:text/javascript,${encodeURIComponent(
  'import { registerHooks } from "node:module"; import { appendFileSync } from "node:fs";' +
    "registerHooks({ load(url, context, next) { appendFileSync(process.env.MODULE_LOG, url + '\\n'); return next(url, context); } });",
)}`;

/** Matches the URLs of the modules a plain serve must not load. */
const onDemand = {
  cel: [/\/@marcbachmann\/cel-js\//, /\/re2js\//, /\/src\/apiserver\/cel\.ts$/],
  audit: [/\/src\/audit\/auditor\.ts$/, /\/src\/audit\/policy\.ts$/, /\/src\/audit\/backend\.ts$/],
  // The kubeconfig the bed writes is JSON (testbed/gateway.ts), as is the chart's config: the YAML
  // library (~8.5 MiB of idle RSS) is for files that are YAML (src/config/lazy-libraries.ts).
  yaml: [/\/node_modules\/yaml\//],
};

const loadedOf = (modules: readonly string[], patterns: readonly RegExp[]) =>
  modules.filter((url) => patterns.some((p) => p.test(url)));

describe("serve loads CEL and the audit pipeline only when configured", { timeout: 300_000 }, () => {
  let bed: TestBed;
  let credentials: GatewayCredentials;

  before(async () => {
    bed = await startTestBed();
    credentials = await prepareGatewayCredentials(bed);
    for (const args of [
      ["create", "clusterrole", "configmap-reader", "--verb=get,list,watch", "--resource=configmaps"],
      ["create", "clusterrolebinding", "jane-configmaps", "--clusterrole=configmap-reader", "--user=jane@example.com"],
    ]) {
      const result = await bed.kubectl(args);
      assert.equal(result.code, 0, result.stderr);
    }
  });
  after(() => bed?.stop());

  /** Starts serve with `extra` flags, lists the configmaps as jane through it, and stops it. */
  async function modulesOfServe(name: string, oidc: string[], extra: string[] = []): Promise<string[]> {
    const log = join(bed.dir, `${name}-modules.txt`);
    await writeFile(log, "");
    const served = await startServeChild({
      credentials,
      oidc,
      extra,
      nodeArgs: [`--import=${hook}`],
      env: { MODULE_LOG: log },
      readyTimeoutMs: 30_000,
    });
    try {
      const jane = (await bed.login("jane")).idToken;
      const r = await httpsRequest(`${served.url}/api/v1/namespaces/default/configmaps`, {
        ca: bed.ca.certPem,
        headers: { authorization: `Bearer ${jane}` },
      });
      assert.equal(r.status, 200, r.body);
    } finally {
      await served.stop();
    }
    return readFileSync(log, "utf8").split("\n").filter(Boolean);
  }

  it("a serve with --oidc-* flags and a JSON kubeconfig loads neither CEL, the YAML library nor the audit policy and backends", async () => {
    const modules = await modulesOfServe("plain", bedOidcFlags(bed));
    assert.ok(
      modules.some((url) => url.endsWith("/src/server/gateway.ts")),
      "the hook saw serve's modules",
    );
    assert.deepEqual(loadedOf(modules, onDemand.cel), []);
    assert.deepEqual(loadedOf(modules, onDemand.audit), []);
    assert.deepEqual(loadedOf(modules, onDemand.yaml), []);
  });

  it("loads them when an AuthenticationConfiguration has an expression and an audit policy is set", async () => {
    const authn = await writeAuthenticationConfig(bed, [
      {
        issuer: {
          url: bed.issuer.url,
          audiences: [clients.kubernetes.id],
          certificateAuthority: bed.ca.certPem,
        },
        claimMappings: { username: { claim: "email", prefix: "" } },
        claimValidationRules: [{ expression: "claims.email_verified == true", message: "email not verified" }],
      },
    ]);
    const policy = join(bed.dir, "serve-modules-audit-policy.json");
    await writeFile(
      policy,
      JSON.stringify({ apiVersion: "audit.k8s.io/v1", kind: "Policy", rules: [{ level: "Metadata" }] }),
    );
    const modules = await modulesOfServe(
      "configured",
      [`--authentication-config=${authn}`],
      [`--audit-policy-file=${policy}`, `--audit-log-path=${join(bed.dir, "serve-modules-audit.log")}`],
    );
    for (const pattern of [...onDemand.cel, ...onDemand.audit]) {
      assert.ok(
        modules.some((url) => pattern.test(url)),
        `${pattern} loaded`,
      );
    }
  });
});
