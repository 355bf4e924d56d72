// kubectl's client flags as kube-oidc-proxy registers them (--server, --token,
// --certificate-authority, --context, --cluster, --user, --tls-server-name) applied over the
// kubeconfig by src/upstream/cluster.ts, against the test bed's kube-apiserver: a
// SelfSubjectReview says whose credentials reached it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as tls from "node:tls";
import { ConfigError } from "../../src/config/errors.ts";
import { loadServeConfig } from "../../src/config/serve-config.ts";
import { postToApiServer } from "../../src/upstream/api-request.ts";
import { Upstream } from "../../src/upstream/cluster.ts";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import { type GatewayCredentials, gatewayTokenSubject, prepareGatewayCredentials } from "../../testbed/gateway.ts";

interface SelfSubjectReview {
  status: { userInfo: { username: string } };
}

async function whoami(upstream: Upstream): Promise<string> {
  const review = await postToApiServer<SelfSubjectReview>(
    upstream,
    "/apis/authentication.k8s.io/v1/selfsubjectreviews",
    {
      apiVersion: "authentication.k8s.io/v1",
      kind: "SelfSubjectReview",
    },
  );
  return review.status.userInfo.username;
}

/** The client flags as serve's configuration hands them to the upstream. */
function clientFlags(args: string[]) {
  const { config } = loadServeConfig(
    ["--oidc-issuer-url=https://issuer.example.com", "--oidc-client-id=k", "--cert-dir=/tmp", ...args],
    {},
  );
  assert.ok(config);
  return config.upstream;
}

describe("the upstream client flags (kubectl's, as kube-oidc-proxy takes them)", { timeout: 300_000 }, () => {
  let bed: TestBed;
  let credentials: GatewayCredentials;
  let server: string;
  const open: Upstream[] = [];
  const upstream = (args: string[]) => {
    const flags = clientFlags(args);
    const made = new Upstream({ kubeconfig: flags.kubeconfig, extraCaFile: "", client: flags.client, http2: "off" });
    open.push(made);
    return made;
  };

  before(async () => {
    bed = await startTestBed();
    credentials = await prepareGatewayCredentials(bed, "client-flags");
    server = bed.apiServer?.url ?? assert.fail("no kube-apiserver");
  });
  after(async () => {
    for (const made of open) made.close();
    await bed?.stop();
  });

  it("--server, --token and --certificate-authority alone, without a kubeconfig or a pod", async () => {
    const token = readFileSync(credentials.tokenFile, "utf8").trim();
    const made = upstream([`--server=${server}`, `--token=${token}`, `--certificate-authority=${credentials.caFile}`]);
    assert.equal(await whoami(made), gatewayTokenSubject);
  });

  it("--context, --cluster and --user pick other kubeconfig entries than current-context's", async () => {
    const kubeconfig = join(bed.dir, "client-flags", "contexts.kubeconfig");
    await writeFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          { name: "bed", cluster: { server, "certificate-authority": credentials.caFile } },
          { name: "nowhere", cluster: { server: "https://127.0.0.1:1", "certificate-authority": credentials.caFile } },
        ],
        users: [
          { name: "gateway", user: { tokenFile: credentials.tokenFile } },
          { name: "nobody", user: { token: "not-a-token" } },
        ],
        contexts: [
          { name: "broken", context: { cluster: "nowhere", user: "nobody" } },
          { name: "good", context: { cluster: "bed", user: "gateway" } },
        ],
        "current-context": "broken",
      }),
    );
    assert.equal(await whoami(upstream([`--kubeconfig=${kubeconfig}`, "--context=good"])), gatewayTokenSubject);
    assert.equal(
      await whoami(upstream([`--kubeconfig=${kubeconfig}`, "--cluster=bed", "--user=gateway"])),
      gatewayTokenSubject,
    );
    assert.throws(() => upstream([`--kubeconfig=${kubeconfig}`, "--context=missing"]), {
      code: "KUBECONFIG_INVALID",
      message: /--context "missing" not found/,
    });
    assert.throws(() => upstream([`--kubeconfig=${kubeconfig}`, "--user=missing"]), {
      message: /--user "missing" not found/,
    });
  });

  it("--tls-server-name checks the API server's certificate against that name, not the URL's host", async () => {
    const { hostname, port } = new URL(server);
    const names = await new Promise<string[]>((resolve, reject) => {
      const socket = tls.connect({ host: hostname, port: Number(port), ca: bed.ca.certPem }, () => {
        const san = socket.getPeerCertificate().subjectaltname ?? "";
        resolve([...san.matchAll(/DNS:([^,\s]+)/g)].map((m) => m[1] as string));
        socket.destroy();
      });
      socket.on("error", reject);
    });
    const name = names.find((n) => !n.includes("*"));
    assert.ok(name, `a DNS name in the API server's certificate (${names.join(", ")})`);
    const base = [`--kubeconfig=${credentials.kubeconfig}`];
    assert.equal(await whoami(upstream([...base, `--tls-server-name=${name}`])), gatewayTokenSubject);
    await assert.rejects(
      whoami(upstream([...base, "--tls-server-name=not-the-api-server.example"])),
      /not-the-api-server/,
    );
  });

  it("refuses a client certificate without its key", () => {
    assert.throws(
      () => upstream([`--server=${server}`, `--client-certificate=${credentials.certFile}`]),
      (error: unknown) =>
        error instanceof ConfigError && /--client-certificate and --client-key go together/.test(error.message),
    );
  });
});
