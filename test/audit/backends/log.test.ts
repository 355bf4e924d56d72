// The log backend (plugin/pkg/audit/log/backend.go): the lines it writes in both formats, to a
// file and to standard output, and what it answers when the disk refuses a write.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { LogBackend } from "../../../src/audit/backends/log.ts";
import { RotatingFile } from "../../../src/audit/backends/rotating-file.ts";
import { encodeEvent } from "../../../src/audit/encode.ts";
import { event, recordedLog } from "./fixtures.ts";

// The legacy format prints local time, as Go does; this file pins the zone (Node applies a TZ
// set at run time).
process.env.TZ = "UTC";

const rotation = { maxSizeMb: 100, maxBackups: 1, maxAgeDays: 0 };

describe("log backend", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "kog-audit-log-"));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('"json": each event as the API server encodes it, one line each, in order', async () => {
    const path = join(root, "json.log");
    const { logger } = recordedLog();
    const backend = new LogBackend(new RotatingFile(path, rotation), "json", logger);
    assert.equal(String(backend), "log");
    assert.equal(backend.processEvents(event(1), event(2)), true);
    assert.equal(backend.processEvents(event(3)), true);
    await backend.shutdown();
    assert.equal(await readFile(path, "utf8"), [1, 2, 3].map((i) => `${encodeEvent(event(i))}\n`).join(""));
  });

  it('"legacy": EventString lines, with the placeholders for what the event lacks', async () => {
    const path = join(root, "legacy.log");
    const { logger } = recordedLog();
    const backend = new LogBackend(new RotatingFile(path, rotation), "legacy", logger);
    const bare = event(2, {
      user: {},
      sourceIPs: undefined,
      userAgent: undefined,
      objectRef: undefined,
      responseStatus: undefined,
      stage: "RequestReceived",
    });
    const impersonated = event(3, { impersonatedUser: { username: "bob", groups: ["a", 'b"c'] } });
    assert.equal(backend.processEvents(event(1), bare, impersonated), true);
    await backend.shutdown();
    const lines = (await readFile(path, "utf8")).split("\n");
    // Go's fmt.Sprintf of pkg/audit/format.go, written out by hand (legacy-format.property.test.ts
    // compares generated events with kube-apiserver's own code).
    const at = "2025-12-06T05:46:40.123";
    assert.equal(
      lines[0],
      `${at}457Z AUDIT: id="00000000-0000-4000-8000-000000000001" stage="ResponseComplete" ip="192.0.2.7" ` +
        `method="get" user="alice@example.com" groups="\\"oidc:developers\\",\\"system:authenticated\\"" ` +
        `as="<self>" asgroups="<lookup>" user-agent="kubectl/v1.37.2 (linux/amd64) kubernetes/abcdef" ` +
        `namespace="default" uri="/api/v1/namespaces/default/configmaps/cm-1" response="200"`,
    );
    assert.equal(
      lines[1],
      `${at}458Z AUDIT: id="00000000-0000-4000-8000-000000000002" stage="RequestReceived" ip="<unknown>" ` +
        `method="get" user="<none>" groups="<none>" as="<self>" asgroups="<lookup>" user-agent="" ` +
        `namespace="<none>" uri="/api/v1/namespaces/default/configmaps/cm-2" response="<deferred>"`,
    );
    assert.match(lines[2] ?? "", / as="bob" asgroups="\\"a\\",\\"b\\\\\\"c\\"" /);
    assert.equal(lines[3], "", "every line ends with a newline");
  });

  it("a write the disk refuses answers false, logged once until writes succeed again", async () => {
    const { logger, lines } = recordedLog();
    const backend = new LogBackend(new RotatingFile("/dev/full", rotation), "json", logger);
    assert.equal(backend.processEvents(event(1)), false);
    assert.equal(backend.processEvents(event(2), event(3)), false);
    const errors = lines.filter((l) => l.level === "error");
    assert.equal(errors.length, 1, JSON.stringify(lines));
    assert.equal(errors[0]?.msg, "Error in audit plugin 'log'");
    assert.match(String(errors[0]?.error), /ENOSPC/);
    await backend.shutdown();
  });

  it("--audit-log-path=- writes the lines to standard output", () => {
    const script = `
      import { createAuditBackend } from "./src/audit/backend.ts";
      import { createLogger } from "./src/observability/logger.ts";
      import { event } from "./test/audit/backends/fixtures.ts";
      const none = { enabled: false, maxBatchSize: 1, maxEventSize: 1 };
      const batch = { bufferSize: 10, maxBatchSize: 1, maxBatchWaitMs: 0, throttleEnable: false, throttleQps: 0, throttleBurst: 0 };
      const backend = createAuditBackend({
        requested: true,
        policyFile: "policy.yaml",
        log: { path: "-", format: "json", maxSizeMb: 0, maxBackups: 0, maxAgeDays: 0, mode: "blocking", batch, truncate: none, groupVersion: "audit.k8s.io/v1" },
        webhook: { configFile: "", initialBackoffMs: 10, mode: "batch", batch, truncate: none, groupVersion: "audit.k8s.io/v1" },
      }, createLogger("info"));
      backend.run();
      backend.processEvents(event(7));
      await backend.shutdown();
    `;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: join(import.meta.dirname, "../../.."),
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout, `${encodeEvent(event(7))}\n`);
  });
});
