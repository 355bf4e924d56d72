// Token passthrough: a ServiceAccount token (e.g. a dashboard's own) through the gateway.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import {
  type GatewayCredentials,
  gatewayReady,
  grantGatewayReviews,
  prepareGatewayCredentials,
  type RunningGateway,
  startTestGateway,
} from "../../testbed/gateway.ts";
import { clients } from "../../testbed/issuer/oidc-provider.ts";
import { configMapReaderRbac } from "../../testbed/rbac.ts";
import { expectUnauthorized, whoami } from "../helpers/kubectl-identity.ts";

const setup = `
apiVersion: v1
kind: ServiceAccount
metadata: {name: dashboard, namespace: default}
---
${configMapReaderRbac("dashboard-reads-configmaps", [{ kind: "ServiceAccount", name: "dashboard", namespace: "default" }])}`;

describe("token passthrough", { timeout: 120_000 }, () => {
  let bed: TestBed;
  let credentials: GatewayCredentials;
  let withPassthrough: RunningGateway;
  let without: RunningGateway;
  let serviceAccountToken: string;

  before(async () => {
    bed = await startTestBed();
    credentials = await prepareGatewayCredentials(bed);
    await grantGatewayReviews(bed, ["tokenreviews"]);
    const applied = await bed.kubectl(["apply", "-f", "-"], undefined, setup);
    assert.equal(applied.code, 0, applied.stderr);
    serviceAccountToken = (await bed.kubectl(["create", "token", "dashboard", "--namespace=default"])).stdout.trim();
    const oidc = [
      `--oidc-issuer-url=${bed.issuer.url}`,
      `--oidc-client-id=${clients.kubernetes.id}`,
      "--oidc-username-claim=email",
    ];
    withPassthrough = await startTestGateway(credentials, [...oidc, "--token-passthrough"]);
    without = await startTestGateway(credentials, oidc);
    for (const gateway of [withPassthrough, without]) {
      await gatewayReady(gateway, 30_000);
    }
  });
  after(async () => {
    await withPassthrough?.gateway.stop();
    await without?.gateway.stop();
    await bed?.stop();
  });

  it("forwards a valid ServiceAccount token unchanged: the API server sees the ServiceAccount", async () => {
    const { userInfo, stderr } = await whoami(bed, serviceAccountToken, withPassthrough.url);
    assert.ok(userInfo, stderr);
    assert.equal(userInfo.username, "system:serviceaccount:default:dashboard");
    const list = await bed.kubectl(["get", "configmaps", "--namespace=default", "-o", "name"], {
      token: serviceAccountToken,
      server: withPassthrough.url,
    });
    assert.equal(list.code, 0, list.stderr);
    const events = (await bed.apiServer?.auditEvents()) ?? [];
    const forwarded = events.filter(
      (e) =>
        e.user.username === "system:serviceaccount:default:dashboard" &&
        e.requestURI.startsWith("/api/v1/namespaces/default/configmaps"),
    );
    assert.ok(forwarded.length > 0);
    for (const event of forwarded) assert.equal(event.impersonatedUser, undefined);
  });

  it("still impersonates for tokens of the configured issuer", async () => {
    const { userInfo } = await whoami(bed, (await bed.login("jane")).idToken, withPassthrough.url);
    assert.equal(userInfo?.username, "jane@example.com");
  });

  it("refuses a token the TokenReview does not accept", async () => {
    await expectUnauthorized(bed, "not-a-real-token", withPassthrough.url);
    assert.match(withPassthrough.logs.join(""), /"reason":"TOKEN_REVIEW_REFUSED"/);
  });

  it("refuses ServiceAccount tokens when passthrough is off", async () => {
    await expectUnauthorized(bed, serviceAccountToken, without.url);
  });
});
