// Impersonation rights checked at start (issue 17): with kube-oidc-proxy's own ClusterRole
// (v0.3.0 deploy/yaml/kube-oidc-proxy.yaml: users, groups, serviceaccounts, userextras/scopes),
// every Keycloak request got 403, because the gateway impersonates the extra
// authentication.kubernetes.io/credential-id that kube-apiserver sets from `jti`. The gateway now
// asks at start what it may impersonate, says what is missing (log, /readyz) and leaves the
// extra out; --require-impersonation-rights makes it refuse to start instead.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import {
  escapeExtraKey,
  impersonationHeaders,
  isExtraWithheld,
  withholdExtras,
} from "../../src/apiserver/impersonation-headers.ts";
import { loadServeConfig } from "../../src/config/serve-config.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { startGateway } from "../../src/server/gateway.ts";
import {
  clusterRoleRules,
  credentialIdExtra,
  neededImpersonationRights,
  rightName,
} from "../../src/server/impersonation-rights.ts";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import {
  type GatewayCredentials,
  gatewayFlags,
  gatewayReady,
  type RunningGateway,
  startTestGateway,
  writeAuthenticationConfig,
  writeGatewayCredentials,
} from "../../testbed/gateway.ts";
import { httpsRequest, waitFor } from "../../testbed/http.ts";
import { keycloakClusterAudience } from "../../testbed/keycloak/keycloak.ts";
import { selfSubjectReview } from "../helpers/kubectl-identity.ts";

const peerTarball = join(import.meta.dirname, "../../../shared/peers/kube-oidc-proxy-v0.3.0.tar.gz");

/** kube-oidc-proxy's own ServiceAccount, ClusterRole and ClusterRoleBinding, from its v0.3.0 tarball. */
function kubeOidcProxyRbac(): string {
  const manifest = execFileSync("tar", [
    "-xzOf",
    peerTarball,
    "kube-oidc-proxy-v0.3.0/deploy/yaml/kube-oidc-proxy.yaml",
  ]).toString("utf8");
  const kinds = new Set(["ServiceAccount", "ClusterRole", "ClusterRoleBinding"]);
  const documents = parseAllDocuments(manifest)
    .map((d) => d.toString())
    .filter((text) => kinds.has(/^kind: (\w+)/m.exec(text)?.[1] ?? ""));
  assert.equal(documents.length, 3, "kube-oidc-proxy.yaml: a ServiceAccount, a ClusterRole and its binding");
  return ["apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-oidc-proxy}\n", ...documents].join("---\n");
}

describe("impersonation rights: what the configuration needs", () => {
  it("asks for users, groups and the credential-id extra with --oidc-* flags", async () => {
    const { config } = loadServeConfig(
      ["--tls-cert-file=x", "--tls-private-key-file=y", "--oidc-issuer-url=https://i", "--oidc-client-id=k"],
      {},
    );
    assert.ok(config);
    assert.deepEqual(neededImpersonationRights(config).map(rightName), ["users", `userextras/${credentialIdExtra}`]);
    const { config: withGroups } = loadServeConfig(
      [
        "--tls-cert-file=x",
        "--tls-private-key-file=y",
        "--oidc-issuer-url=https://i",
        "--oidc-client-id=k",
        "--oidc-groups-claim=groups",
        "--allow-nested-impersonation",
      ],
      {},
    );
    assert.ok(withGroups);
    assert.deepEqual(neededImpersonationRights(withGroups).map(rightName), [
      "users",
      "groups",
      "uids",
      `userextras/${credentialIdExtra}`,
      "userextras/authentication.kube-oidc-gateway.io/original-username",
      "userextras/authentication.kube-oidc-gateway.io/original-groups",
    ]);
  });

  it("asks for every extra key of an AuthenticationConfiguration, lower-cased as the API server reads it", () => {
    const rights = neededImpersonationRights({
      authentication: {
        jwt: [
          {
            issuer: { url: "https://i", audiences: ["k"] },
            claimMappings: {
              username: { claim: "sub", prefix: "" },
              uid: { claim: "sub" },
              extra: [{ key: "example.com/Tenant", valueExpression: "claims.tenant" }],
            },
            requiredClaims: {},
            signingAlgorithms: ["RS256"],
          },
        ],
        allowSystemIdentities: false,
        tokenCacheTtlMs: 0,
        nestedImpersonation: false,
      },
    });
    assert.deepEqual(rights.map(rightName), [
      "users",
      "uids",
      `userextras/${credentialIdExtra}`,
      "userextras/example.com/tenant",
    ]);
    assert.equal(
      clusterRoleRules(rights),
      [
        `- apiGroups: [""]`,
        `  resources: ["users"]`,
        `  verbs: ["impersonate"]`,
        `- apiGroups: ["authentication.k8s.io"]`,
        `  resources: ["uids", "userextras/${credentialIdExtra}", "userextras/example.com/tenant"]`,
        `  verbs: ["impersonate"]`,
      ].join("\n"),
    );
  });
});

describe("withheld extras", () => {
  it("leaves a withheld extra out of the headers, in any letter case, also for an identity written before", () => {
    const user = { username: "jane", groups: ["dev"], extra: { "Example.com/Tenant": ["t1"], scopes: ["s"] } };
    const names = () => impersonationHeaders(user).map(([name]) => name);
    assert.deepEqual(names(), [
      "Impersonate-User",
      "Impersonate-Group",
      "Impersonate-Extra-example.com%2Ftenant",
      "Impersonate-Extra-scopes",
    ]);
    try {
      withholdExtras(["example.com/TENANT"]);
      assert.equal(isExtraWithheld("Example.com/tenant"), true);
      assert.equal(isExtraWithheld("scopes"), false);
      assert.deepEqual(names(), ["Impersonate-User", "Impersonate-Group", "Impersonate-Extra-scopes"]);
    } finally {
      withholdExtras([]);
    }
    assert.equal(names().length, 4);
  });
});

describe("impersonation rights on the bed, with kube-oidc-proxy's ClusterRole", { timeout: 600_000 }, () => {
  let bed: TestBed;
  let credentials: GatewayCredentials;
  let keycloakFlags: string[];
  let running: RunningGateway | undefined;

  before(async () => {
    assert.ok(existsSync(peerTarball), `kube-oidc-proxy's tarball at ${peerTarball}`);
    bed = await startTestBed({ keycloak: true });
    const applied = await bed.kubectl(["apply", "-f", "-"], undefined, kubeOidcProxyRbac());
    assert.equal(applied.code, 0, applied.stderr);
    const token = await bed.kubectl(["create", "token", "kube-oidc-proxy", "--namespace=kube-oidc-proxy"]);
    assert.equal(token.code, 0, token.stderr);
    if (!bed.apiServer || !bed.keycloak) throw new Error("the bed's kube-apiserver and Keycloak");
    credentials = await writeGatewayCredentials(bed, "kube-oidc-proxy-sa", bed.apiServer.url, token.stdout.trim());
    keycloakFlags = [
      `--oidc-issuer-url=${bed.keycloak.issuerUrl}`,
      `--oidc-client-id=${keycloakClusterAudience}`,
      "--oidc-username-claim=preferred_username",
      "--oidc-username-prefix=keycloak:",
      "--oidc-groups-claim=groups",
      "--oidc-groups-prefix=keycloak:",
    ];
  });

  after(async () => {
    await running?.gateway.stop();
    await bed?.stop();
  });

  it("the API server refuses the credential-id extra to kube-oidc-proxy's ClusterRole (why every request got 403)", async () => {
    const idToken = (await bed.keycloakLogin("testuser")).idToken;
    const jti = JSON.parse(Buffer.from(idToken.split(".")[1] ?? "", "base64url").toString("utf8")).jti;
    assert.equal(typeof jti, "string", "Keycloak's id token carries a jti");
    // What the gateway sent before: the user and the extra, as the gateway's ServiceAccount.
    const asGateway = (extra: Record<string, string>) =>
      httpsRequest(`${bed.apiServer?.url}/apis/authentication.k8s.io/v1/selfsubjectreviews`, {
        method: "POST",
        ca: bed.ca.certPem,
        headers: {
          authorization: `Bearer ${readFileSync(credentials.tokenFile, "utf8")}`,
          "content-type": "application/json",
          "impersonate-user": "keycloak:testuser",
          ...extra,
        },
        body: JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }),
      });
    const withExtra = await asGateway({ [`impersonate-extra-${escapeExtraKey(credentialIdExtra)}`]: `JTI=${jti}` });
    assert.equal(withExtra.status, 403, withExtra.body);
    const withoutExtra = await asGateway({});
    assert.equal(withoutExtra.status, 201, withoutExtra.body);
  });

  it("leaves the credential-id extra out, names the missing rule in the log and /readyz, and the request reaches the API server as the user", async () => {
    running = await startTestGateway(credentials, keycloakFlags);
    const gateway = running;
    try {
      await waitFor(
        "the impersonation rights check",
        async () =>
          /impersonation rights: .*credential-id/.test(await (await fetch(`${gateway.healthUrl}/readyz`)).text()),
        { timeoutMs: 30_000 },
      );
      const ready = await fetch(`${gateway.healthUrl}/readyz`);
      assert.equal(ready.status, 200, "degraded, not unready");
      const body = await ready.text();
      assert.match(body, /^ok, degraded:\n/m);
      assert.match(
        body,
        /may not impersonate userextras\/authentication\.kubernetes\.io\/credential-id: those extras are left out of every request \(add to its ClusterRole: - apiGroups: \["authentication\.k8s\.io"\] resources: \["userextras\/authentication\.kubernetes\.io\/credential-id"\] verbs: \["impersonate"\]\)/,
      );
      const loud = gateway.logs.filter((line) => line.includes("IMPERSONATION RIGHTS MISSING"));
      assert.equal(loud.length, 1, "logged once");
      assert.match(loud[0] ?? "", /"level":"error"/);
      assert.match(loud[0] ?? "", /userextras\/authentication\.kubernetes\.io\/credential-id/);

      const idToken = (await bed.keycloakLogin("testuser")).idToken;
      for (let i = 0; i < 2; i++) {
        const decision = await selfSubjectReview(gateway.url, bed.ca.certPem, idToken);
        assert.equal(decision.status, 201, decision.body);
        assert.equal(decision.user?.username, "keycloak:testuser");
        assert.ok(decision.user?.groups?.includes("system:authenticated"));
        assert.equal(
          decision.user?.extra?.[credentialIdExtra],
          undefined,
          "the extra it may not impersonate is left out",
        );
      }
      // The same token straight to the API server carries the extra: only the gateway leaves it out.
      const direct = await selfSubjectReview(bed.apiServer?.url ?? "", bed.ca.certPem, idToken);
      assert.equal(direct.status, 201, direct.body);
      assert.match(direct.user?.extra?.[credentialIdExtra]?.[0] ?? "", /^JTI=/);
      assert.ok(gateway.gateway.health().degraded.some((d) => d.includes(credentialIdExtra)));
    } finally {
      await gateway.gateway.stop();
      running = undefined;
    }
  });

  it("the rule it names is enough: with it added the gateway sends the extra and is not degraded", async () => {
    const rule = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kube-oidc-proxy-credential-id}
rules:
- apiGroups: ["authentication.k8s.io"]
  resources: ["userextras/${credentialIdExtra}"]
  verbs: ["impersonate"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kube-oidc-proxy-credential-id}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kube-oidc-proxy-credential-id}
subjects:
- {kind: ServiceAccount, name: kube-oidc-proxy, namespace: kube-oidc-proxy}
`;
    const applied = await bed.kubectl(["apply", "-f", "-"], undefined, rule);
    assert.equal(applied.code, 0, applied.stderr);
    running = await startTestGateway(credentials, keycloakFlags);
    const gateway = running;
    try {
      await waitFor(
        "the impersonation rights check",
        async () => gateway.logs.some((line) => line.includes("impersonation rights checked")),
        { timeoutMs: 30_000 },
      );
      // Ready once the issuer is discovered (Keycloak may take a moment under load), and then
      // nothing degraded: the readiness text is "ok".
      await gatewayReady(gateway);
      assert.equal(await (await fetch(`${gateway.healthUrl}/readyz`)).text(), "ok\n");
      assert.deepEqual(gateway.gateway.health().degraded, []);
      const decision = await selfSubjectReview(
        gateway.url,
        bed.ca.certPem,
        (await bed.keycloakLogin("testuser")).idToken,
      );
      assert.equal(decision.status, 201, decision.body);
      assert.match(decision.user?.extra?.[credentialIdExtra]?.[0] ?? "", /^JTI=/);
    } finally {
      await gateway.gateway.stop();
      running = undefined;
      // Removed whatever happened: the next test needs the right missing again.
      const removed = await bed.kubectl(["delete", "-f", "-"], undefined, rule);
      assert.equal(removed.code, 0, removed.stderr);
    }
  });

  it("--require-impersonation-rights: refuses to start, naming the missing rule", async () => {
    const file = await writeAuthenticationConfig(bed, [
      {
        issuer: {
          url: bed.keycloak?.issuerUrl,
          certificateAuthority: bed.ca.certPem,
          audiences: [keycloakClusterAudience],
        },
        claimMappings: {
          username: { claim: "preferred_username", prefix: "keycloak:" },
          extra: [{ key: "example.com/tenant", valueExpression: "'t'" }],
        },
      },
    ]);
    const { config } = loadServeConfig(
      [...(await gatewayFlags(credentials, [`--authentication-config=${file}`])), "--require-impersonation-rights"],
      {},
    );
    assert.ok(config);
    const logs: string[] = [];
    await assert.rejects(
      startGateway(config, { logger: createLogger("debug", (line) => logs.push(line)) }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, "IMPERSONATION_RIGHTS_MISSING");
        assert.match(
          error.message,
          /--require-impersonation-rights: .*credential-id, userextras\/example\.com\/tenant/,
        );
        return true;
      },
    );
  });
});
