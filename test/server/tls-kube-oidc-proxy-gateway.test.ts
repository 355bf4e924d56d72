// kube-oidc-proxy's serving and proxy flags through `serve`'s own flag parsing and startGateway,
// in front of the bed's kube-apiserver: --cert-dir without --tls-cert-file (a self-signed
// certificate generated, served and trusted by a real client), --tls-min-version, and
// --disable-impersonation / --extra-user-headers as the API server's audit log records them.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import * as https from "node:https";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as tls from "node:tls";
import { loadServeConfig } from "../../src/config/serve-config.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { type Gateway, startGateway } from "../../src/server/gateway.ts";
import { certDirPairName } from "../../src/server/tls-listener.ts";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import {
  bedOidcFlags,
  type GatewayCredentials,
  gatewayFlags,
  gatewayReady,
  prepareGatewayCredentials,
} from "../../testbed/gateway.ts";
import { waitFor } from "../../testbed/http.ts";
import type { AuditEvent } from "../../testbed/kube-apiserver.ts";

describe("kube-oidc-proxy's flags through serve", { timeout: 180_000 }, () => {
  let bed: TestBed;
  const gateways: Gateway[] = [];
  let jane: string;
  let credentials: GatewayCredentials;

  before(async () => {
    bed = await startTestBed();
    credentials = await prepareGatewayCredentials(bed);
    jane = (await bed.login("jane")).idToken;
  });
  after(async () => {
    for (const gateway of gateways) await gateway.stop();
    await bed?.stop();
  });

  async function start(flags: string[]): Promise<{ port: number; healthUrl: string }> {
    // A fresh health port each time; no --tls-* files unless the test gives them.
    const base = (await gatewayFlags(credentials, bedOidcFlags(bed))).filter(
      (f) => !/^--tls-(cert|private-key)-file=/.test(f),
    );
    const { config } = loadServeConfig([...base, ...flags], {});
    assert.ok(config);
    const gateway = await startGateway(config, { logger: createLogger("error", () => {}) });
    gateways.push(gateway);
    const healthUrl = `http://127.0.0.1:${gateway.healthAddress?.port}`;
    await gatewayReady({ healthUrl }, 30_000);
    return { port: gateway.address.port, healthUrl };
  }

  function get(port: number, ca: string, path: string): Promise<number> {
    return new Promise((resolve, reject) => {
      https
        .get({ host: "127.0.0.1", port, path, ca, headers: { Authorization: `Bearer ${jane}` } }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        })
        .on("error", reject);
    });
  }

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

  it("--cert-dir, --tls-min-version and --disable-impersonation: a generated certificate a client verifies, TLS 1.3 only, jane's own token upstream", async () => {
    const certDir = join(bed.dir, "cert-dir");
    const { port } = await start([
      `--cert-dir=${certDir}`,
      "--tls-min-version=VersionTLS13",
      "--disable-impersonation",
    ]);
    const pem = await readFile(join(certDir, `${certDirPairName}.crt`), "utf8");
    const ca = pem.split(/(?<=-----END CERTIFICATE-----\n)/)[1] ?? "";
    const refused = await new Promise<boolean>((resolve) => {
      const socket = tls.connect({ host: "127.0.0.1", port, ca, maxVersion: "TLSv1.2" });
      socket.once("secureConnect", () => {
        socket.destroy();
        resolve(false);
      });
      socket.once("error", () => resolve(true));
    });
    assert.equal(refused, true);
    const marker = randomUUID();
    assert.equal(await get(port, ca, `/api/v1/namespaces/default/configmaps?labelSelector=m%3D${marker}`), 403);
    const event = await eventOf(marker);
    assert.equal(event.user.username, "jane@example.com");
    assert.equal(event.impersonatedUser, undefined);
  });

  it("--extra-user-headers and --extra-user-header-client-ip: the impersonated user carries them", async () => {
    const { port } = await start([
      `--tls-cert-file=${join(bed.dir, "gateway", "tls.crt")}`,
      `--tls-private-key-file=${join(bed.dir, "gateway", "tls.key")}`,
      "--extra-user-headers=team=blue,team=green",
      "--extra-user-header-client-ip",
    ]);
    const marker = randomUUID();
    assert.equal(
      await get(port, bed.ca.certPem, `/api/v1/namespaces/default/configmaps?labelSelector=m%3D${marker}`),
      403,
    );
    const extra = (await eventOf(marker)).impersonatedUser?.extra ?? {};
    assert.deepEqual(extra.team, ["blue", "green"]);
    assert.match(extra["remote-client-ip"]?.[0] ?? "", /^127\.0\.0\.1:\d+$/);
  });
});
