// The chart as Helm sees it: lint (with the generated values schema) and template, with the
// default values and each example; the rendered objects checked by our own `lint` (in-process)
// and field by field where the Headlamp incident went wrong.
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { before, describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { repoRoot } from "../../testbed/paths.ts";
import { runCli } from "../helpers/run-cli.ts";
import {
  chartDir,
  examplesDir,
  gatewayExamples,
  headlampLoginManifests,
  headlampLoginValues,
  headlampManifests,
  headlampSideOf,
  headlampValues,
  helm,
  helmBinary,
  helmBuildTimeoutMs,
  imageArgs,
  issuerArgs,
  issuerEgressRules,
  type K8sObject,
  parseManifests,
  type Rendered,
  release,
  render,
  renderNotes,
  templateArgs,
} from "./chart.ts";

const timeout = 60_000;

/** Our lint over `rendered` (standard input) and `files`: every finding, at any severity. */
async function lintFindings(rendered: string, files: readonly string[] = []): Promise<unknown[]> {
  const run = await runCli(["lint", "--output=json", "--fail-on=info", "-", ...files], { stdin: rendered });
  const report = JSON.parse(run.stdout) as { findings: unknown[] };
  assert.equal(run.code, report.findings.length === 0 ? 0 : 1, run.stderr);
  return report.findings;
}

const container = (deployment: K8sObject) => {
  const found = deployment.spec.template.spec.containers.find((c: { name: string }) => c.name === "kube-oidc-gateway");
  assert.ok(found, "the gateway's container");
  return found;
};

const containerPort = (deployment: K8sObject, name: string): number => {
  const port = container(deployment).ports.find((p: { name: string }) => p.name === name);
  assert.ok(port, `container port ${name}`);
  return port.containerPort;
};

const configOf = (rendered: Rendered) =>
  parseYaml(rendered.one("ConfigMap").data["config.yaml"]) as Record<string, unknown>;

describe(`chart kube-oidc-gateway`, () => {
  before(
    async () => {
      await helmBinary();
    },
    { timeout: helmBuildTimeoutMs },
  );

  describe("helm lint", () => {
    it("passes --strict with the default values", { timeout }, async () => {
      const result = await helm(["lint", "--strict", chartDir]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
    });

    for (const example of gatewayExamples) {
      it(`passes --strict with examples/${example}`, { timeout }, async () => {
        const result = await helm(["lint", "--strict", chartDir, ...templateArgs({ values: [example] })]);
        assert.equal(result.code, 0, result.stdout + result.stderr);
      });
    }

    it("fails on a misspelt config key: the schema allows only serve's settings", { timeout }, async () => {
      const result = await helm(["lint", chartDir, "--set", "config.oidc-isuer-url=https://issuer.example.com"]);
      assert.notEqual(result.code, 0);
      assert.match(result.stdout + result.stderr, /additional properties 'oidc-isuer-url' not allowed/);
    });

    it("fails on a malformed duration, a wrong type, and a setting the chart owns", { timeout }, async () => {
      for (const [args, error] of [
        [["--set", "config.token-cache-ttl=10 seconds"], /token-cache-ttl.*does not match pattern/],
        [["--set-string", "config.token-passthrough=yes"], /token-passthrough.*boolean/],
        [["--set", "config.secure-port=9443"], /additional properties 'secure-port' not allowed/],
        [["--set", "config.api-port=9444"], /additional properties 'api-port' not allowed/],
        [["--set", "apiListener.enabled=yes"], /apiListener\/enabled.*must be one of/],
        [["--set", "replicas=3"], /additional properties 'replicas' not allowed/],
      ] as const) {
        const result = await helm(["lint", chartDir, ...args]);
        assert.notEqual(result.code, 0, args.join(" "));
        assert.match(result.stdout + result.stderr, error, args.join(" "));
      }
    });
  });

  it("schema errors name the key's path, in config, in the chart's values and in the Kubernetes objects passed through", {
    timeout,
  }, async () => {
    // helm v3.22 prints "- at '<JSON pointer>': <reason>". Before issue 20 resources,
    // podSecurityContext, securityContext, the probes and certificate.privateKey were bare
    // objects: the last six passed helm template and reached the API server.
    for (const [set, message] of [
      ["config.oidc-isuer-url=x", "at '/config': additional properties 'oidc-isuer-url' not allowed"],
      ["config.token-passthrough=yes", "at '/config/token-passthrough': got string, want boolean"],
      ["networkPolicy.egres.dns.enabled=true", "at '/networkPolicy': additional properties 'egres' not allowed"],
      ["networkPolicy.egress.dns.enabled=yes", "at '/networkPolicy/egress/dns/enabled': got string, want boolean"],
      ["issuer.inCluster.port=https", "at '/issuer/inCluster/port': got string, want integer"],
      ["resources.limits.memry=1Gi", "at '/resources/limits': additional properties 'memry' not allowed"],
      ["resources.requests.memory=lots", "at '/resources/requests/memory': 'lots' does not match pattern"],
      ["podSecurityContext.runAsUser=abc", "at '/podSecurityContext/runAsUser': got string, want integer"],
      [
        "securityContext.readOnlyRootFileSystem=true",
        "at '/securityContext': additional properties 'readOnlyRootFileSystem' not allowed",
      ],
      ["livenessProbe.httpGet.port=8443", "at '/livenessProbe': additional properties 'httpGet' not allowed"],
      ["certificate.privateKey.size=big", "at '/certificate/privateKey/size': got string, want integer"],
    ] as const) {
      const result = await helm([
        "template",
        release.name,
        chartDir,
        ...templateArgs({ args: [...issuerArgs, "--set", set] }),
      ]);
      assert.notEqual(result.code, 0, set);
      assert.ok(result.stderr.includes(message), `${set}: ${result.stderr}`);
    }
    // The forms Kubernetes allows still pass: extended resources, hugepages, bare numbers.
    await render({
      args: [
        ...issuerArgs,
        ...[
          "resources.limits.example\\.com/gpu=1",
          "resources.limits.hugepages-2Mi=64Mi",
          "resources.requests.cpu=0.5",
        ].flatMap((set) => ["--set", set]),
      ],
    });
  });

  it("lists every example in the tests", async () => {
    const files = (await readdir(examplesDir)).sort();
    const known = [
      ...new Set([
        ...gatewayExamples,
        ...Object.values(headlampSideOf).flatMap((side) => [side.values, side.manifests].map((f) => basename(f))),
      ]),
    ].sort();
    assert.deepEqual(files, known, "a new example needs its lint and config tests");
  });

  describe("helm template and kube-oidc-gateway lint", () => {
    it("renders the default values (with the image and issuer they lack) with no lint finding at all", {
      timeout,
    }, async () => {
      const rendered = await render({ args: issuerArgs });
      assert.deepEqual(await lintFindings(rendered.text), []);
    });

    for (const example of gatewayExamples) {
      const side = basename(headlampSideOf[example].manifests);
      it(`renders examples/${example} with no finding, linted together with Headlamp's side (${side})`, {
        timeout,
      }, async () => {
        const rendered = await render({ values: [example] });
        assert.deepEqual(await lintFindings(rendered.text, [headlampSideOf[example].manifests]), []);
      });
    }

    it("lint does see both sides: the incident's two mistakes in the same setup are reported", {
      timeout,
    }, async () => {
      // Headlamp's egress to the Service port, and a bundle without the cluster CA.
      const rendered = await render({
        values: ["keycloak-headlamp.yaml"],
        args: ["--set", "trustBundle.includeClusterCA=false"],
      });
      const manifests = (await readFile(headlampManifests, "utf8")).replace("port: 8443", "port: 443");
      const run = await runCli(["lint", "--output=json", "-"], { stdin: `${rendered.text}\n---\n${manifests}` });
      const rules = (JSON.parse(run.stdout) as { findings: { ruleId: string }[] }).findings.map((f) => f.ruleId);
      // The two kinds of mistake, each reported. netpol-service-port may report more than the rule
      // made wrong here: since issue 20 it also names Headlamp's rule to any destination on 443,
      // which does not reach the gateway's pods either.
      assert.deepEqual([...new Set(rules)].sort(), ["ca-bundle-incomplete", "netpol-service-port"]);
    });

    it("refuses the default values at helm template, naming the image and issuer values to set (Argo CD shows no NOTES)", {
      timeout,
    }, async () => {
      const template = (...args: string[]) => helm(["template", release.name, chartDir, ...args]);
      const defaults = await template();
      assert.notEqual(defaults.code, 0);
      assert.match(
        defaults.stderr,
        /image\.repository is the placeholder registry\.example\.com\/kube-oidc-gateway: .*set image\.repository/,
      );
      const empty = await template("--set", "image.repository=");
      assert.match(empty.stderr, /image\.repository is empty: set it/);
      const noIssuer = await template(...imageArgs);
      assert.notEqual(noIssuer.code, 0);
      assert.match(
        noIssuer.stderr,
        /no issuer: set config\.oidc-issuer-url and config\.oidc-client-id \(or authenticationConfiguration\)/,
      );
      const noClient = await template(...imageArgs, "--set", "config.oidc-issuer-url=https://issuer.example.com");
      assert.match(noClient.stderr, /config\.oidc-client-id is not set/);
      const withBoth = await template(...imageArgs, ...issuerArgs);
      assert.equal(withBoth.code, 0, withBoth.stderr);
      // An issuer from a Secret through extraEnv counts as set.
      const fromEnv = await template(
        ...imageArgs,
        "--set-json",
        `extraEnv=${JSON.stringify(
          ["KOG_OIDC_ISSUER_URL", "KOG_OIDC_CLIENT_ID"].map((name) => ({
            name,
            valueFrom: { secretKeyRef: { name: "oidc", key: name } },
          })),
        )}`,
      );
      assert.equal(fromEnv.code, 0, fromEnv.stderr);
    });

    it("refuses browser sessions on several replicas without Redis", { timeout }, async () => {
      const result = await helm([
        "template",
        release.name,
        chartDir,
        ...templateArgs({ values: ["sessions-redis.yaml"], args: ["--set", "config.session-store=memory"] }),
      ]);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /session-store: redis/);
    });
  });

  describe("rendered objects (default values)", () => {
    let rendered: Rendered;
    before(
      async () => {
        rendered = await render({ args: issuerArgs });
      },
      { timeout },
    );

    it("probes the health port (/livez, /readyz), never the authenticating HTTPS port", () => {
      const deployment = rendered.one("Deployment");
      const gateway = container(deployment);
      const config = configOf(rendered);
      for (const [probe, path] of [
        ["livenessProbe", "/livez"],
        ["readinessProbe", "/readyz"],
      ] as const) {
        const httpGet = gateway[probe].httpGet;
        assert.equal(httpGet.path, path);
        assert.equal(httpGet.scheme, "HTTP");
        assert.equal(containerPort(deployment, httpGet.port), config["health-port"]);
        assert.notEqual(containerPort(deployment, httpGet.port), config["secure-port"]);
      }
      assert.equal(config["health-port"], 8080);
      assert.equal(config["secure-port"], 8443);
      assert.equal(gateway.startupProbe, undefined);
    });

    it("runs `serve --config` in-cluster, the config, certificate and secrets from one projected volume", () => {
      const deployment = rendered.one("Deployment");
      const gateway = container(deployment);
      assert.deepEqual(gateway.args, ["serve", "--config=/etc/kube-oidc-gateway/config.yaml"]);
      const config = configOf(rendered);
      assert.equal(config.kubeconfig, undefined, "in-cluster API access");
      assert.equal(deployment.spec.template.spec.automountServiceAccountToken, true);
      const mount = gateway.volumeMounts.find((m: { name: string }) => m.name === "config");
      assert.equal(mount.mountPath, "/etc/kube-oidc-gateway");
      assert.equal(mount.subPath, undefined, "no subPath: the kubelet's updates must reach the files");
      const volume = deployment.spec.template.spec.volumes.find((v: { name: string }) => v.name === "config");
      const tls = volume.projected.sources.find((s: { secret?: unknown }) => s.secret).secret;
      assert.equal(tls.name, "kube-oidc-gateway-tls");
      assert.deepEqual(
        tls.items.map((i: { path: string }) => `${mount.mountPath}/${i.path}`),
        [config["tls-cert-file"], config["tls-private-key-file"]],
      );
      assert.ok(gateway.volumeMounts.some((m: { mountPath: string }) => m.mountPath === "/tmp"));
    });

    it("is locked down: uid/gid 10001, read-only root, no privilege escalation, no capabilities, RuntimeDefault, ephemeral-storage bounded", () => {
      const deployment = rendered.one("Deployment");
      const pod = deployment.spec.template.spec.securityContext;
      const own = container(deployment).securityContext;
      assert.equal(pod.runAsNonRoot, true);
      // Above 10000 (kube-score container-security-context-user-group-id): the image's user,
      // Dockerfile USER 10001:10001 (test/package/dockerfile.test.ts checks the two agree).
      assert.equal(pod.runAsUser, 10001);
      assert.equal(pod.runAsGroup, 10001);
      assert.equal(pod.fsGroup, 10001);
      assert.equal(pod.seccompProfile.type, "RuntimeDefault");
      assert.equal(own.runAsNonRoot, true);
      assert.equal(own.readOnlyRootFilesystem, true);
      assert.equal(own.allowPrivilegeEscalation, false);
      assert.deepEqual(own.capabilities.drop, ["ALL"]);
      assert.equal(own.seccompProfile.type, "RuntimeDefault");
      const resources = container(deployment).resources;
      assert.ok(resources.requests.cpu && resources.requests.memory && resources.limits.memory);
      // kube-score container-ephemeral-storage-request-and-limit; the limit holds /tmp's emptyDir.
      assert.equal(resources.requests["ephemeral-storage"], "64Mi");
      assert.equal(resources.limits["ephemeral-storage"], "256Mi");
      const tmp = deployment.spec.template.spec.volumes.find((v: { name: string }) => v.name === "tmp");
      assert.equal(tmp.emptyDir.sizeLimit, "64Mi");
    });

    it("keeps two pods spread over nodes and zones, and at most one down", () => {
      const deployment = rendered.one("Deployment");
      assert.equal(deployment.spec.replicas, 2);
      const spread = deployment.spec.template.spec.topologySpreadConstraints as {
        topologyKey: string;
        labelSelector: { matchLabels: unknown };
      }[];
      assert.deepEqual(
        spread.map((c) => c.topologyKey),
        ["kubernetes.io/hostname", "topology.kubernetes.io/zone"],
      );
      for (const constraint of spread) {
        assert.deepEqual(constraint.labelSelector.matchLabels, deployment.spec.selector.matchLabels);
      }
      const pdb = rendered.one("PodDisruptionBudget");
      assert.equal(pdb.spec.maxUnavailable, 1);
      assert.deepEqual(pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels);
    });

    it("rolls the pods when config.yaml changes (checksum annotation)", { timeout }, async () => {
      const checksum = (r: Rendered) => r.one("Deployment").spec.template.metadata.annotations["checksum/config"];
      const changed = await render({ args: [...issuerArgs, "--set", "config.log-level=debug"] });
      assert.match(checksum(rendered), /^[0-9a-f]{64}$/);
      assert.notEqual(checksum(changed), checksum(rendered));
    });

    it("serves 443 on the Service and forwards it to the pod's 8443", () => {
      const service = rendered.one("Service");
      const https = service.spec.ports.find((p: { name: string }) => p.name === "https");
      assert.equal(https.port, 443);
      assert.equal(containerPort(rendered.one("Deployment"), https.targetPort), 8443);
      assert.deepEqual(service.spec.selector, rendered.one("Deployment").spec.selector.matchLabels);
    });

    it("lets the NetworkPolicy allow the pod ports 8443 and 8080, never the Service's 443", () => {
      const policy = rendered.one("NetworkPolicy");
      const ingressPorts = policy.spec.ingress.flatMap((rule: { ports: { port: number }[] }) =>
        rule.ports.map((p) => p.port),
      );
      assert.deepEqual(ingressPorts, [8443, 8080]);
      assert.deepEqual(policy.spec.policyTypes, ["Ingress", "Egress"]);
      const egressPorts = policy.spec.egress.flatMap((rule: { ports: { port: number }[] }) =>
        rule.ports.map((p) => p.port),
      );
      assert.ok(egressPorts.includes(53) && egressPorts.includes(6443), "DNS and the API server");
    });

    it("grants only impersonation by default: no tokenreviews, no subjectaccessreviews", () => {
      const role = rendered.one("ClusterRole");
      assert.deepEqual(role.rules, [
        { apiGroups: [""], resources: ["users", "groups", "serviceaccounts"], verbs: ["impersonate"] },
        { apiGroups: ["authentication.k8s.io"], resources: ["*"], verbs: ["impersonate"] },
      ]);
      const binding = rendered.one("ClusterRoleBinding");
      assert.equal(binding.roleRef.name, role.metadata.name);
      assert.deepEqual(binding.subjects, [
        { kind: "ServiceAccount", name: rendered.one("ServiceAccount").metadata.name, namespace: release.namespace },
      ]);
    });

    it("renders no optional objects by default", () => {
      for (const kind of ["CiliumNetworkPolicy", "Certificate", "Bundle", "ServiceMonitor"]) {
        assert.equal(rendered.all(kind).length, 0, kind);
      }
    });
  });

  describe("rendered objects (options)", () => {
    it("grants create on tokenreviews with token-passthrough, on subjectaccessreviews with nested impersonation", {
      timeout,
    }, async () => {
      const reviewRules = async (sets: string[]) =>
        (await render({ args: [...issuerArgs, ...sets.flatMap((s) => ["--set", s])] }))
          .one("ClusterRole")
          .rules.filter((r: { verbs: string[] }) => r.verbs.includes("create"));
      assert.deepEqual(await reviewRules(["config.token-passthrough=true"]), [
        { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
      ]);
      assert.deepEqual(await reviewRules(["config.allow-nested-impersonation=true"]), [
        { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
      ]);
      assert.deepEqual(await reviewRules(["config.token-passthrough=false"]), []);
    });

    it("the incident example: Certificate, trust bundle with kube-root-ca.crt, CiliumNetworkPolicy on pod ports", {
      timeout,
    }, async () => {
      const rendered = await render({ values: ["keycloak-headlamp.yaml"] });
      const certificate = rendered.one("Certificate");
      assert.ok(certificate.spec.dnsNames.includes("kube-oidc-gateway.kube-oidc-gateway.svc"));
      assert.equal(certificate.spec.secretName, "kube-oidc-gateway-tls");
      assert.deepEqual(certificate.spec.issuerRef, {
        name: "internal-ca",
        kind: "ClusterIssuer",
        group: "cert-manager.io",
      });

      const bundle = rendered.one("Bundle");
      assert.equal(bundle.metadata.name, "gateway-ca-bundle");
      assert.deepEqual(bundle.spec.sources, [
        { secret: { name: "root-ca-secret", key: "ca.crt" } },
        { configMap: { name: "kube-root-ca.crt", key: "ca.crt" } },
      ]);

      const cilium = rendered.one("CiliumNetworkPolicy");
      const ingressPorts = cilium.spec.ingress.flatMap((rule: { toPorts: { ports: { port: string }[] }[] }) =>
        rule.toPorts.flatMap((p) => p.ports.map((q) => q.port)),
      );
      assert.deepEqual(ingressPorts, ["8443", "8080"]);
      assert.ok(
        cilium.spec.egress.some((rule: { toEntities?: string[] }) => rule.toEntities?.includes("kube-apiserver")),
      );
      assert.ok(!JSON.stringify(cilium.spec).includes("toServices"));

      const policy = rendered.one("NetworkPolicy");
      assert.equal(
        policy.spec.ingress[0].from[0].namespaceSelector.matchLabels["kubernetes.io/metadata.name"],
        "headlamp",
      );
    });

    describe("in-cluster issuer (issue 20: Keycloak's Service 443 → pods 8443)", () => {
      const keycloak = join(repoRoot, "test", "lint", "fixtures", "in-cluster-issuer", "keycloak.yaml");

      it("examples/keycloak-in-cluster.yaml: the issuer egress goes to the Keycloak pods' 8443, not 443 or world", {
        timeout,
      }, async () => {
        const rendered = await render({ values: ["keycloak-in-cluster.yaml"] });
        // What the Keycloak Service selects and forwards to, read from the fixture.
        const [service, deployment] = parseManifests(await readFile(keycloak, "utf8"));
        const podPort = deployment?.spec.template.spec.containers[0].ports[0].containerPort;
        assert.equal(podPort, 8443);
        assert.equal(service?.spec.ports[0].port, 443);
        const { policy, cilium } = issuerEgressRules(rendered);
        assert.deepEqual(policy, [
          {
            ports: [{ port: podPort, protocol: "TCP" }],
            to: [
              {
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "keycloak" } },
                podSelector: { matchLabels: service?.spec.selector },
              },
            ],
          },
        ]);
        assert.deepEqual(cilium, [
          {
            toEndpoints: [
              { matchLabels: { "k8s:io.kubernetes.pod.namespace": "keycloak", ...service?.spec.selector } },
            ],
            toPorts: [{ ports: [{ port: String(podPort), protocol: "TCP" }] }],
          },
        ]);
        const text = JSON.stringify([policy, cilium]);
        assert.ok(!text.includes("world") && !/"port":\s*"?443\b/.test(text), text);
        // Linted with that Keycloak beside it: nothing to report.
        assert.deepEqual(await lintFindings(rendered.text, [keycloak]), []);
      });

      it("the issue's render (keycloak.keycloak.svc without issuer.inCluster) fails helm template, naming the values", {
        timeout,
      }, async () => {
        for (const [url, host] of [
          ["https://keycloak.keycloak.svc/realms/kubernetes", "keycloak.keycloak.svc"],
          ["https://keycloak.keycloak.svc.cluster.local:8443/realms/kubernetes", "keycloak.keycloak.svc.cluster.local"],
          ["https://keycloak/realms/kubernetes", "keycloak"],
        ] as const) {
          const result = await helm([
            "template",
            release.name,
            chartDir,
            ...templateArgs({ values: ["keycloak-headlamp.yaml"], args: ["--set", `config.oidc-issuer-url=${url}`] }),
          ]);
          assert.notEqual(result.code, 0, url);
          assert.match(
            result.stderr,
            new RegExp(`the issuer ${host.replaceAll(".", "\\.")} is a Service in the cluster`),
          );
          for (const key of ["namespace", "podSelector", "port"]) {
            assert.ok(result.stderr.includes(`issuer.inCluster.${key}`), `${url}: ${result.stderr}`);
          }
        }
      });

      it("an AuthenticationConfiguration issuer counts too, by the discoveryURL that is actually fetched", {
        timeout,
      }, async () => {
        const values = (issuer: Record<string, string>) => [
          "--set-json",
          `authenticationConfiguration=${JSON.stringify({
            apiVersion: "apiserver.config.k8s.io/v1",
            kind: "AuthenticationConfiguration",
            jwt: [
              {
                issuer: { ...issuer, audiences: ["kubernetes"] },
                claimMappings: { username: { claim: "sub", prefix: "" } },
              },
            ],
          })}`,
          "--set",
          "ciliumNetworkPolicy.enabled=true",
        ];
        const inClusterUrl = await helm([
          "template",
          release.name,
          chartDir,
          ...templateArgs({ args: values({ url: "https://keycloak.keycloak.svc/realms/kubernetes" }) }),
        ]);
        assert.match(inClusterUrl.stderr, /the issuer keycloak\.keycloak\.svc is a Service in the cluster/);
        // A public issuer URL whose discovery document is fetched from inside the cluster.
        const discovery = {
          url: "https://keycloak.example.com/realms/kubernetes",
          discoveryURL:
            "https://keycloak.keycloak.svc.cluster.local/realms/kubernetes/.well-known/openid-configuration",
        };
        const refused = await helm(["template", release.name, chartDir, ...templateArgs({ args: values(discovery) })]);
        assert.match(refused.stderr, /the issuer keycloak\.keycloak\.svc\.cluster\.local is a Service/);
        const rendered = await render({
          args: [
            ...values(discovery),
            "--set",
            "issuer.inCluster.namespace=keycloak",
            "--set",
            "issuer.inCluster.podSelector.app=keycloak",
            "--set",
            "issuer.inCluster.port=8443",
          ],
        });
        const { policy, cilium } = issuerEgressRules(rendered);
        assert.deepEqual(
          policy.map((rule: { ports: { port: number }[] }) => rule.ports[0]?.port),
          [8443],
        );
        assert.equal(policy[0].to[0].podSelector.matchLabels.app, "keycloak");
        assert.deepEqual(
          cilium.map((rule: { toPorts: { ports: { port: string }[] }[] }) => rule.toPorts[0]?.ports[0]?.port),
          ["8443"],
        );
      });

      it("a public issuer keeps networkPolicy.egress.issuer and Cilium's world:443; a partial issuer.inCluster is refused; no policy, no check", {
        timeout,
      }, async () => {
        const { policy, cilium } = issuerEgressRules(await render({ values: ["keycloak-headlamp.yaml"] }));
        assert.deepEqual(policy, [{ ports: [{ port: 443, protocol: "TCP" }] }]);
        assert.deepEqual(cilium, [{ toEntities: ["world"], toPorts: [{ ports: [{ port: "443", protocol: "TCP" }] }] }]);
        const partial = await helm([
          "template",
          release.name,
          chartDir,
          ...templateArgs({ values: ["keycloak-in-cluster.yaml"], args: ["--set", "issuer.inCluster.port=0"] }),
        ]);
        assert.match(partial.stderr, /issuer\.inCluster needs all of namespace, podSelector and port/);
        // Without any policy there is no egress rule to get wrong: an in-cluster URL alone renders.
        const noPolicy = await render({
          args: [
            "--set",
            "config.oidc-issuer-url=https://keycloak.keycloak.svc/realms/kubernetes",
            "--set",
            "config.oidc-client-id=kubernetes",
            "--set",
            "networkPolicy.enabled=false",
          ],
        });
        assert.equal(noPolicy.all("NetworkPolicy").length + noPolicy.all("CiliumNetworkPolicy").length, 0);
      });
    });

    it("--set works for the chart's list values: one port, ports with commas, {a,b}, and DNS names", {
      timeout,
    }, async () => {
      const issuerPorts = async (set: string) =>
        (await render({ args: [...issuerArgs, "--set", set] }))
          .one("NetworkPolicy")
          .spec.egress.at(-1)
          .ports.map((p: { port: number }) => p.port);
      // A single port was refused before issue 20 ("got number, want array").
      assert.deepEqual(await issuerPorts("networkPolicy.egress.issuer.ports=8443"), [8443]);
      assert.deepEqual(await issuerPorts("networkPolicy.egress.issuer.ports=8443\\,9443"), [8443, 9443]);
      assert.deepEqual(await issuerPorts("networkPolicy.egress.issuer.ports={8443,9443}"), [8443, 9443]);
      const cilium = await render({
        args: [
          ...issuerArgs,
          "--set",
          "ciliumNetworkPolicy.enabled=true",
          "--set",
          "ciliumNetworkPolicy.apiServerPorts=6443",
        ],
      });
      const apiServer = cilium
        .one("CiliumNetworkPolicy")
        .spec.egress.find((rule: { toEntities?: string[] }) => rule.toEntities?.includes("kube-apiserver"));
      assert.deepEqual(apiServer.toPorts, [{ ports: [{ port: "6443", protocol: "TCP" }] }]);
      const certificate = await render({
        args: [
          ...issuerArgs,
          "--set",
          "certificate.enabled=true",
          "--set",
          "certificate.issuerRef.name=ca",
          "--set",
          "certificate.extraDnsNames=a.example.com\\,b.example.com",
        ],
      });
      assert.deepEqual(certificate.one("Certificate").spec.dnsNames.slice(-2), ["a.example.com", "b.example.com"]);
      // What is not a port still fails, naming the value.
      for (const [value, message] of [
        ["abc", /at '\/networkPolicy\/egress\/issuer\/ports': 'abc' does not match pattern/],
        ["70000", /at '\/networkPolicy\/egress\/issuer\/ports': maximum/],
      ] as const) {
        const result = await helm([
          "template",
          release.name,
          chartDir,
          ...templateArgs({ args: [...issuerArgs, "--set", `networkPolicy.egress.issuer.ports=${value}`] }),
        ]);
        assert.match(result.stderr, message, value);
      }
    });

    it("exposes /metrics to a ServiceMonitor through the Service's metrics port", { timeout }, async () => {
      const rendered = await render({ args: [...issuerArgs, "--set", "serviceMonitor.enabled=true"] });
      const monitor = rendered.one("ServiceMonitor");
      assert.deepEqual(monitor.spec.endpoints[0].port, "metrics");
      assert.equal(monitor.spec.endpoints[0].path, "/metrics");
      const metrics = rendered.one("Service").spec.ports.find((p: { name: string }) => p.name === "metrics");
      assert.equal(metrics.targetPort, "health");
    });
  });

  for (const [example, side] of Object.entries(headlampSideOf)) {
    it(`Headlamp's chart values and the plain manifests describe the same pod (${basename(side.values)}, with ${example})`, async () => {
      const values = parseYaml(await readFile(side.values, "utf8"));
      const deployment = parseManifests(await readFile(side.manifests, "utf8")).find((o) => o.kind === "Deployment");
      assert.ok(deployment);
      const pod = deployment.spec.template.spec;
      const headlamp = pod.containers[0];
      assert.equal(pod.automountServiceAccountToken, values.automountServiceAccountToken);
      assert.deepEqual(pod.volumes, values.volumes);
      assert.deepEqual(headlamp.volumeMounts, values.volumeMounts);
      assert.deepEqual(headlamp.env, values.env);
      const oidc = values.config.oidc;
      if (oidc.externalSecret?.enabled) {
        assert.deepEqual(headlamp.envFrom, [{ secretRef: { name: oidc.externalSecret.name } }]);
        assert.ok(headlamp.args.some((a: string) => a.startsWith("-oidc-client-id=")));
      } else {
        // Way B: no OIDC in Headlamp (the chart then renders no Secret, no envFrom, no -oidc-* flag).
        assert.equal(oidc.secret.create, false);
        assert.equal(headlamp.envFrom, undefined);
        assert.deepEqual(
          headlamp.args.filter((a: string) => a.startsWith("-oidc")),
          [],
        );
      }
      // The gateway's Service as the example release names it.
      assert.equal(
        headlamp.env.find((e: { name: string }) => e.name === "KUBERNETES_SERVICE_HOST").value,
        `${release.name}.${release.namespace}.svc`,
      );
    });
  }

  it("every $(VAR) in Headlamp's args is defined: by env, or by the keys the OIDC Secret is said to hold", async () => {
    // With the way A values, Headlamp's chart passes -oidc-callback-url=$(OIDC_CALLBACK_URL) (an
    // external Secret; the manifests showed a literal URL instead), and no variable of that name
    // was set: Kubernetes leaves an undefined $(…) as it is, so the callback URL was that text.
    const secretKeys = ["OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_ISSUER_URL", "OIDC_SCOPES"];
    const valuesText = await readFile(headlampValues, "utf8");
    for (const key of secretKeys) assert.ok(valuesText.includes(key), `headlamp-values.yaml documents ${key}`);
    for (const side of Object.values(headlampSideOf)) {
      const deployment = parseManifests(await readFile(side.manifests, "utf8")).find((o) => o.kind === "Deployment");
      const headlamp = deployment?.spec.template.spec.containers[0];
      const defined = new Set<string>([
        ...(headlamp.env ?? []).map((e: { name: string }) => e.name),
        ...(headlamp.envFrom ? secretKeys : []),
      ]);
      const used = (headlamp.args as string[]).flatMap((a) => [...a.matchAll(/\$\(([A-Z_]+)\)/g)].map((m) => m[1]));
      for (const name of used) assert.ok(defined.has(name as string), `${basename(side.manifests)}: $(${name})`);
    }
  });

  describe("the API listener: one Deployment serves the login front and the dashboard's in-cluster API", () => {
    const servicePort = (rendered: Rendered, name: string) =>
      rendered.one("Service").spec.ports.find((p: { name: string }) => p.name === name);
    const ingressPorts = (policy: K8sObject): number[] =>
      policy.spec.ingress.flatMap((rule: { ports: { port: number }[] }) => rule.ports.map((p) => p.port));
    const envValue = (container: { env: { name: string; value: string }[] }, name: string) =>
      container.env.find((e) => e.name === name)?.value;

    it("way B (sessions-redis.yaml): Service api 6443 → targetPort api → container 8444 = config api-port; the policy names 8444", {
      timeout,
    }, async () => {
      const rendered = await render({ values: ["sessions-redis.yaml"] });
      const deployment = rendered.one("Deployment");
      const api = servicePort(rendered, "api");
      assert.equal(api.port, 6443);
      assert.equal(api.targetPort, "api");
      assert.equal(api.appProtocol, "https");
      assert.equal(containerPort(deployment, api.targetPort), 8444);
      const config = configOf(rendered);
      assert.equal(config["api-port"], 8444);
      assert.equal(config["secure-port"], 8443);
      // The main port still serves browsers: the Service's 443 goes to the session front.
      assert.equal(containerPort(deployment, servicePort(rendered, "https").targetPort), 8443);

      const policy = rendered.one("NetworkPolicy");
      assert.deepEqual(ingressPorts(policy), [8443, 8444, 8080]);
      assert.ok(!ingressPorts(policy).includes(6443), "never the Service's port");
      const apiRule = policy.spec.ingress.find((rule: { ports: { port: number }[] }) => rule.ports[0]?.port === 8444);
      assert.deepEqual(apiRule.from, [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "headlamp" } },
          podSelector: { matchLabels: { "app.kubernetes.io/name": "headlamp" } },
        },
      ]);
      const httpsRule = policy.spec.ingress.find((rule: { ports: { port: number }[] }) => rule.ports[0]?.port === 8443);
      assert.deepEqual(httpsRule.from, [
        { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } },
      ]);
      // One certificate for both ports: the Service's names, unchanged.
      assert.ok(rendered.one("Certificate").spec.dnsNames.includes("kube-oidc-gateway.kube-oidc-gateway.svc"));
    });

    for (const [example, side] of Object.entries(headlampSideOf)) {
      it(`${basename(side.manifests)}: Headlamp's in-cluster client and egress reach the listener that serves it bearer API (${example})`, {
        timeout,
      }, async () => {
        // The loop of issue 18: Headlamp's client on the port that serves the login front.
        const rendered = await render({ values: [example] });
        const config = configOf(rendered);
        const objects = parseManifests(await readFile(side.manifests, "utf8"));
        const headlamp = objects.find((o) => o.kind === "Deployment")?.spec.template.spec.containers[0];
        const port = Number(envValue(headlamp, "KUBERNETES_SERVICE_PORT"));
        const used = rendered.one("Service").spec.ports.find((p: { port: number }) => p.port === port);
        assert.ok(used, `KUBERNETES_SERVICE_PORT ${port} is a port of the gateway's Service`);
        const listener = config["dashboard-upstream"] ? "api" : "https";
        assert.equal(used.targetPort, listener);
        const podPort = containerPort(rendered.one("Deployment"), used.targetPort);
        assert.equal(podPort, config[listener === "api" ? "api-port" : "secure-port"]);
        const egress = objects.find((o) => o.kind === "NetworkPolicy")?.spec.egress as {
          to?: { namespaceSelector?: { matchLabels: Record<string, string> } }[];
          ports: { port: number }[];
        }[];
        const toGateway = egress.find(
          (rule) => rule.to?.[0]?.namespaceSelector?.matchLabels["kubernetes.io/metadata.name"] === release.namespace,
        );
        assert.deepEqual(
          toGateway?.ports.map((p) => p.port),
          [podPort],
        );
      });
    }

    it("Headlamp's egress naming the api Service port 6443 instead of the pod's 8444 is reported (netpol-service-port)", {
      timeout,
    }, async () => {
      const rendered = await render({ values: ["sessions-redis.yaml"] });
      const manifests = (await readFile(headlampLoginManifests, "utf8")).replace("port: 8444", "port: 6443");
      const run = await runCli(["lint", "--output=json", "-"], { stdin: `${rendered.text}\n---\n${manifests}` });
      const findings = (JSON.parse(run.stdout) as { findings: { ruleId: string; message: string }[] }).findings;
      assert.deepEqual(
        findings.map((f) => f.ruleId),
        ["netpol-service-port"],
      );
      assert.match(findings[0]?.message ?? "", /6443.*8444/);
    });

    it("Headlamp left on the Service's 443 in way B (issue 18's login loop) is reported (api-client-on-session-port)", {
      timeout,
    }, async () => {
      const rendered = await render({ values: ["sessions-redis.yaml"] });
      const manifests = (await readFile(headlampLoginManifests, "utf8"))
        .replace('value: "6443"', 'value: "443"')
        .replace("port: 8444", "port: 8443");
      const run = await runCli(["lint", "--output=json", "-"], { stdin: `${rendered.text}\n---\n${manifests}` });
      const findings = (JSON.parse(run.stdout) as { findings: { ruleId: string }[] }).findings;
      assert.deepEqual(
        findings.map((f) => f.ruleId),
        ["api-client-on-session-port"],
      );
    });

    it("is off without config.dashboard-upstream: no api port anywhere, no api-port in config.yaml", {
      timeout,
    }, async () => {
      for (const values of [[], ["keycloak-headlamp.yaml"]]) {
        const rendered = await render({ values, args: values.length ? [] : issuerArgs });
        assert.equal(servicePort(rendered, "api"), undefined, values.join());
        const ports = container(rendered.one("Deployment")).ports.map((p: { name: string }) => p.name);
        assert.deepEqual(ports, ["https", "health"], values.join());
        assert.equal(configOf(rendered)["api-port"], undefined, values.join());
        assert.ok(!ingressPorts(rendered.one("NetworkPolicy")).includes(8444), values.join());
      }
    });

    it("apiListener.enabled overrides auto both ways", { timeout }, async () => {
      const forced = await render({ args: [...issuerArgs, "--set", "apiListener.enabled=true"] });
      assert.equal(servicePort(forced, "api").port, 6443);
      assert.equal(configOf(forced)["api-port"], 8444);
      const off = await render({ values: ["sessions-redis.yaml"], args: ["--set", "apiListener.enabled=false"] });
      assert.equal(servicePort(off, "api"), undefined);
      assert.equal(configOf(off)["api-port"], undefined);
      assert.deepEqual(ingressPorts(off.one("NetworkPolicy")), [8443, 8080]);
      const moved = await render({
        values: ["sessions-redis.yaml"],
        args: ["--set", "ports.api=9444", "--set", "service.apiPort=7443"],
      });
      assert.equal(servicePort(moved, "api").port, 7443);
      assert.equal(containerPort(moved.one("Deployment"), "api"), 9444);
      assert.equal(configOf(moved)["api-port"], 9444);
      assert.deepEqual(ingressPorts(moved.one("NetworkPolicy")), [8443, 9444, 8080]);
    });

    it("CiliumNetworkPolicy allows the api pod port to apiIngressFrom", { timeout }, async () => {
      const peer = { fromEndpoints: [{ matchLabels: { "k8s:io.kubernetes.pod.namespace": "headlamp" } }] };
      const rendered = await render({
        values: ["sessions-redis.yaml"],
        args: [
          "--set",
          "ciliumNetworkPolicy.enabled=true",
          "--set-json",
          `ciliumNetworkPolicy.apiIngressFrom=${JSON.stringify([peer])}`,
        ],
      });
      const rules = rendered.one("CiliumNetworkPolicy").spec.ingress as {
        fromEndpoints?: unknown;
        toPorts: { ports: { port: string }[] }[];
      }[];
      assert.deepEqual(
        rules.map((r) => r.toPorts[0]?.ports[0]?.port),
        ["8443", "8444", "8080"],
      );
      assert.deepEqual(rules[1]?.fromEndpoints, peer.fromEndpoints);
      assert.equal(rules[0]?.fromEndpoints, undefined, "the HTTPS port keeps ingressFrom (empty: any)");
      assert.ok(!JSON.stringify(rules).includes("6443"));
    });

    it("refuses colliding ports and config.api-port when schema validation is skipped", { timeout }, async () => {
      for (const [args, error] of [
        [["--set", "ports.api=8443"], /ports\.api \(8443\) must differ/],
        [["--set", "ports.api=8080"], /ports\.api \(8080\) must differ/],
        [["--set", "service.apiPort=443"], /service\.apiPort \(443\) must differ/],
        [["--skip-schema-validation", "--set", "config.api-port=9444"], /config\.api-port is set by the chart/],
        [
          ["--skip-schema-validation", "--set", "apiListener.enabled=yes"],
          /apiListener\.enabled must be auto, true or false/,
        ],
      ] as const) {
        const result = await helm([
          "template",
          release.name,
          chartDir,
          ...templateArgs({ values: ["sessions-redis.yaml"], args }),
        ]);
        assert.notEqual(result.code, 0, args.join(" "));
        assert.match(result.stderr, error, args.join(" "));
      }
    });

    it("NOTES.txt prints the env block a dashboard's in-cluster client needs", { timeout }, async () => {
      const envBlock = (port: number) =>
        [
          "  env:",
          "    - name: KUBERNETES_SERVICE_HOST",
          "      value: kube-oidc-gateway.kube-oidc-gateway.svc",
          "    - name: KUBERNETES_SERVICE_PORT",
          `      value: "${port}"`,
        ].join("\n");
      const wayB = await renderNotes({ values: ["sessions-redis.yaml"] });
      assert.ok(wayB.includes(envBlock(6443)), wayB);
      assert.match(wayB, /pods\s+listen on 8444/);
      // doctor checks the dashboard's path: the API listener's port when it is on.
      assert.match(wayB, /doctor --gateway-url=https:\/\/kube-oidc-gateway\.kube-oidc-gateway\.svc:6443 /);
      const wayA = await renderNotes({ values: ["keycloak-headlamp.yaml"] });
      assert.ok(wayA.includes(envBlock(443)), wayA);
      assert.ok(!wayA.includes("6443"), wayA);
      assert.match(wayA, /doctor --gateway-url=https:\/\/kube-oidc-gateway\.kube-oidc-gateway\.svc /);
      // The block is YAML a values file can take as it is, and the Headlamp examples hold the same.
      for (const [notes, values] of [
        [wayB, headlampLoginValues],
        [wayA, headlampValues],
      ] as const) {
        const block = notes.slice(notes.indexOf("  env:"), notes.indexOf("\n\n", notes.indexOf("  env:")));
        const apiEnv = (env: { name: string }[]) => env.filter((e) => e.name.startsWith("KUBERNETES_SERVICE_"));
        assert.deepEqual(parseYaml(block).env, apiEnv(parseYaml(await readFile(values, "utf8")).env));
      }
    });
  });
});
