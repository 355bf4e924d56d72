// The test bed's real kube-apiserver, and its own OIDC authenticator: the oracle every
// authentication decision of the gateway will be compared with.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { decodeJwt } from "jose";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import { httpsRequest } from "../../testbed/http.ts";
import { clients } from "../../testbed/issuer/oidc-provider.ts";
import { idTokenClaims } from "../../testbed/issuer/raw-signer.ts";
import {
  expectUnauthorized as expectUnauthorizedOf,
  portIsClosed,
  whoami as whoamiOf,
} from "../helpers/kubectl-identity.ts";

function processIsGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

describe("test bed kube-apiserver", { timeout: 300_000 }, () => {
  let bed: TestBed;
  let stopped = false;

  before(async () => {
    bed = await startTestBed({ log: (line) => process.stderr.write(`${line}\n`) });
  });
  after(async () => {
    if (!stopped) await bed?.stop();
  });

  const whoami = (token: string) => whoamiOf(bed, token);
  const expectUnauthorized = (token: string) => expectUnauthorizedOf(bed, token);
  const issuerClaims = (extra: Record<string, unknown>, expiresInSeconds = 300) =>
    idTokenClaims({
      issuer: bed.issuer.url,
      audience: clients.kubernetes.id,
      subject: "minted-0001",
      expiresInSeconds,
      extra: { email: "minted@example.com", email_verified: true, ...extra },
    });

  it("runs the Kubernetes release kubectl was built from", async () => {
    const result = await bed.kubectl(["version", "-o", "json"]);
    assert.equal(result.code, 0, result.stderr);
    const version = JSON.parse(result.stdout);
    assert.equal(version.clientVersion.gitVersion, bed.binaries?.version);
    assert.equal(version.serverVersion.gitVersion, bed.binaries?.version);
  });

  it("lets the admin list namespaces through kubectl", async () => {
    const result = await bed.kubectl(["get", "namespaces", "-o", "name"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^namespace\/default$/m);
    assert.match(result.stdout, /^namespace\/kube-system$/m);
  });

  it("accepts the issuer's id token and maps username and groups (kubectl auth whoami)", async () => {
    const { idToken } = await bed.login("jane");
    const { userInfo, stderr } = await whoami(idToken);
    assert.ok(userInfo, stderr);
    assert.equal(userInfo.username, "jane@example.com");
    assert.deepEqual(userInfo.groups, ["oidc:developers", "oidc:viewers", "system:authenticated"]);
  });

  it("accepts groups given as a single string", async () => {
    const { idToken } = await bed.login("carol");
    const { userInfo, stderr } = await whoami(idToken);
    assert.ok(userInfo, stderr);
    assert.deepEqual(userInfo.groups, ["oidc:operators", "system:authenticated"]);
  });

  it("refuses an email username whose email_verified is false", async () => {
    const { idToken } = await bed.login("bob");
    assert.equal(decodeJwt(idToken).email_verified, false);
    await expectUnauthorized(idToken);
  });

  it("refuses a genuine id token issued for another audience", async () => {
    const { idToken } = await bed.login("jane", clients.otherApp);
    await expectUnauthorized(idToken);
  });

  it("refuses an expired token signed with the issuer's published key", async () => {
    await expectUnauthorized(bed.mint({ alg: "RS256", kid: "rsa-1", claims: issuerClaims({}, -60) }));
  });

  it("accepts a raw-signed token with the issuer's key and sets credential-id from jti", async () => {
    const token = bed.mint({ alg: "RS256", kid: "rsa-1", claims: issuerClaims({ jti: "raw-1", groups: ["g"] }) });
    const { userInfo, stderr } = await whoami(token);
    assert.ok(userInfo, stderr);
    assert.equal(userInfo.username, "minted@example.com");
    assert.deepEqual(userInfo.extra?.["authentication.kubernetes.io/credential-id"], ["JTI=raw-1"]);
  });

  it("refuses a token signed with a key the issuer does not publish", async () => {
    await expectUnauthorized(bed.mint({ alg: "RS256", kid: "rogue-rsa", claims: issuerClaims({}) }));
  });

  it("answers an unauthenticated request with the Status body clients decode", async () => {
    const response = await httpsRequest(`${bed.apiServer?.url}/api/v1/namespaces`, {
      ca: bed.ca.certPem,
      headers: { authorization: `Bearer ${bed.mint({ alg: "RS256", kid: "rsa-1", claims: issuerClaims({}, -1) })}` },
    });
    assert.equal(response.status, 401);
    assert.equal(response.headers["content-type"], "application/json");
    assert.equal(
      response.body,
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}\n',
    );
  });

  it("records each request in the audit log with the user it ran as", async () => {
    const { idToken } = await bed.login("jane");
    assert.equal((await whoami(idToken)).code, 0);
    const events = (await bed.apiServer?.auditEvents()) ?? [];
    const jane = events.filter(
      (e) => e.user.username === "jane@example.com" && e.requestURI.includes("/selfsubjectreviews"),
    );
    assert.ok(jane.length > 0, "no selfsubjectreviews event for jane");
    assert.equal(jane[0]?.responseStatus?.code, 201);
    assert.deepEqual(jane[0]?.user.groups, ["oidc:developers", "oidc:viewers", "system:authenticated"]);
    const admin = events.filter((e) => e.user.username === "admin" && e.requestURI.startsWith("/api/v1/namespaces"));
    assert.ok(admin.length > 0, "no namespaces event for the admin");
    const refused = events.filter((e) => e.responseStatus?.code === 401);
    assert.ok(refused.length > 0, "refused requests are audited too");
  });

  it("tears everything down: no process, port or folder left", async () => {
    const api = bed.apiServer;
    assert.ok(api);
    const issuerPort = Number(new URL(bed.issuer.url).port);
    await bed.stop();
    stopped = true;
    assert.ok(processIsGone(api.pid), `kube-apiserver pid ${api.pid} still running`);
    assert.ok(await portIsClosed(api.port), `port ${api.port} still open`);
    assert.ok(await portIsClosed(issuerPort), `issuer port ${issuerPort} still open`);
    assert.equal(existsSync(bed.dir), false, `${bed.dir} left behind`);
  });
});
