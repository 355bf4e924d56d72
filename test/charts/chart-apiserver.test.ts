// The chart's objects and the Headlamp examples as a real kube-apiserver (the test bed's, v1.37)
// accepts them: `kubectl apply --dry-run=server` runs the API server's defaulting and validation
// (port names, duplicate Service ports, NetworkPolicy ports, container port names) without
// creating anything. helm template checks none of that. Kinds whose CRDs the bed lacks
// (cert-manager's Certificate, trust-manager's Bundle, Cilium's policy) are left out.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { stringify } from "yaml";
import { startTestBed, type TestBed } from "../../testbed/bed.ts";
import {
  gatewayExamples,
  headlampSideOf,
  helmBinary,
  helmBuildTimeoutMs,
  type K8sObject,
  parseManifests,
  release,
  render,
} from "./chart.ts";

const timeout = 120_000;
const withoutCrd = new Set(["Certificate", "Bundle", "CiliumNetworkPolicy", "ServiceMonitor"]);

describe("the chart's objects through kube-apiserver's validation", { timeout: helmBuildTimeoutMs }, () => {
  let bed: TestBed;
  before(
    async () => {
      await helmBinary();
      bed = await startTestBed();
      for (const namespace of [release.namespace, "headlamp"]) {
        const created = await bed.kubectl(["create", "namespace", namespace]);
        assert.equal(created.code, 0, created.stderr);
      }
    },
    { timeout: helmBuildTimeoutMs },
  );
  after(async () => {
    await bed?.stop();
  });

  /** Server-side dry run of `objects`; the names kubectl reports, one line each. */
  async function dryRun(objects: readonly K8sObject[]): Promise<string[]> {
    const input = objects.map((o) => `---\n${stringify(o)}`).join("");
    const result = await bed.kubectl(["apply", "--dry-run=server", "-o", "name", "-f", "-"], undefined, input);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout.trim().split("\n");
  }

  for (const example of gatewayExamples) {
    it(`examples/${example} with its Headlamp side: every object valid`, { timeout }, async () => {
      const rendered = await render({ values: [example] });
      const headlamp = parseManifests(await readFile(headlampSideOf[example].manifests, "utf8"));
      const objects = [...rendered.objects, ...headlamp].filter((o) => !withoutCrd.has(o.kind));
      const names = await dryRun(objects);
      assert.equal(names.length, objects.length);
      assert.ok(names.includes(`service/${release.name}`));
      assert.ok(names.includes("deployment.apps/headlamp"));
    });
  }

  it("the API listener's Service ports as the API server stores them", { timeout }, async () => {
    const rendered = await render({ values: ["sessions-redis.yaml"] });
    const service = rendered.one("Service");
    const result = await bed.kubectl(
      ["apply", "--dry-run=server", "-o", "json", "-f", "-"],
      undefined,
      stringify(service),
    );
    assert.equal(result.code, 0, result.stderr);
    const stored = JSON.parse(result.stdout) as {
      spec: { ports: { name: string; port: number; targetPort: unknown }[] };
    };
    assert.deepEqual(
      stored.spec.ports.map((p) => [p.name, p.port, p.targetPort]),
      [
        ["https", 443, "https"],
        ["api", 6443, "api"],
      ],
    );
  });

  it("refuses what the chart's port checks refuse: the API server would take a Service port twice", {
    timeout,
  }, async () => {
    // Why the chart refuses service.apiPort = service.port itself: kube-apiserver does too, at
    // install time, with a message about the Service rather than the values.
    const rendered = await render({ values: ["sessions-redis.yaml"] });
    const service = structuredClone(rendered.one("Service")) as K8sObject;
    service.spec.ports[1].port = 443;
    const result = await bed.kubectl(["apply", "--dry-run=server", "-f", "-"], undefined, stringify(service));
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /spec\.ports\[1\]: Duplicate value/);
  });
});
