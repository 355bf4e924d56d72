// lint follows kube-oidc-gateway's --config (and KOG_CONFIG) into the ConfigMap that holds the
// file, as the project's own chart deploys it: `serve --config=/etc/kube-oidc-gateway/config.yaml`
// with config.yaml in a ConfigMap mounted through a projected volume.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { gatewaySettings } from "../../src/lint/gateway-config.ts";
import { loadManifests } from "../../src/lint/manifests.ts";
import { containersOf, workloadsOf } from "../../src/lint/objects.ts";
import { ensureHelm } from "../../testbed/helm.ts";
import { repoRoot } from "../../testbed/paths.ts";
import { hitsOf, lintText, markersIn, only } from "./helpers.ts";

const chartDir = join(repoRoot, "charts", "kube-oidc-gateway");

/** `helm template` of the chart with the cached helm (built first if this machine has none). */
async function renderChart(...values: string[]): Promise<string> {
  const helm = await ensureHelm();
  const args = ["template", "kube-oidc-gateway", chartDir, "--namespace", "kube-oidc-gateway"];
  for (const file of values) args.push("--values", join(chartDir, "examples", file));
  // The chart refuses its placeholder image (charts/kube-oidc-gateway/templates/_helpers.tpl)…
  args.push("--set", "image.repository=images.test/kube-oidc-gateway");
  // …and a release without an issuer.
  if (values.length === 0)
    args.push("--set", "config.oidc-issuer-url=https://issuer.test,config.oidc-client-id=kubernetes");
  const { stdout } = await promisify(execFile)(helm, args, {
    cwd: repoRoot,
    maxBuffer: 16 * 1024 * 1024,
    env: { ...process.env, HELM_NO_PLUGINS: "1" },
  });
  return stdout;
}

/** A gateway Deployment; `container` and `volumes` are indented YAML lines. */
const deployment = (container: string, volumes: string, namespace = "auth") => `apiVersion: apps/v1
kind: Deployment
metadata: {name: gw, namespace: ${namespace}}
spec:
  selector: {matchLabels: {app: gw}}
  template:
    metadata: {labels: {app: gw}}
    spec:
      containers:
        - name: gateway
          image: ghcr.io/example/kube-oidc-gateway:0.1.0
${container}
      volumes:
${volumes}`;

const configMap = (config: string, options: { name?: string; key?: string; namespace?: string } = {}) =>
  `apiVersion: v1
kind: ConfigMap
metadata: {name: ${options.name ?? "gw-config"}${options.namespace === undefined ? ", namespace: auth" : options.namespace ? `, namespace: ${options.namespace}` : ""}}
data:
  ${options.key ?? "config.yaml"}: |
${config
  .split("\n")
  .filter((line) => line !== "")
  .map((line) => `    ${line}`)
  .join("\n")}
`;

const binding = (subjects: string) => `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: people}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
${subjects}`;

const oidcConfig = [
  "oidc-issuer-url: https://keycloak.example.com/realms/kube",
  "oidc-client-id: kubernetes",
  'oidc-username-prefix: "oidc:"',
  "oidc-username-claim: email",
  "",
].join("\n");

/** The gateway reads /etc/gw/config.yaml from a configMap volume mounted at /etc/gw. */
const plainMount = (args = "[serve, --config=/etc/gw/config.yaml]", extra = "") =>
  deployment(
    `          args: ${args}
          volumeMounts: [{name: config, mountPath: /etc/gw}]
${extra}`,
    "        - {name: config, configMap: {name: gw-config}}",
  );

const securePort8443Probe = `          livenessProbe:
            httpGet:
              path: /livez
              port: 8443 # expect: probe-on-auth-endpoint
              scheme: HTTPS
`;

describe("lint reads kube-oidc-gateway's --config file from a ConfigMap in the input", () => {
  it("rbac-subject-prefix sees the prefix the chart's ConfigMap sets", { timeout: 10 * 60_000 }, async () => {
    const rendered = await renderChart("keycloak-headlamp.yaml");
    const subjects = binding(`  - {kind: Group, name: "oidc:k8s-viewers"}
  - kind: Group
    name: /k8s-admins # expect: rbac-subject-prefix
  - kind: User
    name: alice # expect: rbac-subject-prefix
`);
    const report = lintText(rendered, subjects);
    const hits = only(report, "rbac-subject-prefix");
    assert.deepEqual(
      hits.map((f) => `${f.ruleId}@${f.line}`),
      markersIn(subjects),
      "the binding file is test-1.yaml; findings stay on the binding",
    );
    assert.ok(hits.every((f) => f.file === "test-1.yaml"));
    const [group, user] = hits;
    assert.equal(group?.severity, "error");
    assert.match(
      group?.message ?? "",
      /kube-oidc-gateway in Deployment kube-oidc-gateway\/kube-oidc-gateway puts 'oidc:'/,
    );
    assert.equal(group?.fix, "Write the subject as 'oidc:/k8s-admins'.");
    assert.equal(user?.severity, "info");
    assert.match(
      user?.message ?? "",
      /\(oidc-username-prefix: "oidc:" in config\.yaml of ConfigMap kube-oidc-gateway\/kube-oidc-gateway\)/,
    );
  });

  it("probe-on-auth-endpoint sees the chart's secure-port 8443 from its ConfigMap", {
    timeout: 10 * 60_000,
  }, async () => {
    // The chart probes the health port; aimed at the https port instead, the probe gets 401.
    const rendered = (await renderChart()).replace(
      /(livenessProbe:\n\s+httpGet:\n\s+path: \/livez\n\s+)port: health/,
      "$1port: https",
    );
    assert.match(rendered, /path: \/livez\n\s+port: https/);
    const [finding, ...rest] = only(lintText(rendered), "probe-on-auth-endpoint");
    assert.deepEqual(rest, []);
    assert.match(
      finding?.message ?? "",
      /GETs http:\/\/:8443\/livez \(port https\), the authenticating port of kube-oidc-gateway \(secure-port: 8443 in config\.yaml of ConfigMap kube-oidc-gateway\/kube-oidc-gateway\)/,
    );
    assert.match(finding?.fix ?? "", /health port 8080/);
  });

  it("probe-on-auth-endpoint flags an httpGet on 8443 when config.yaml sets secure-port 8443", () => {
    const gateway = plainMount(undefined, securePort8443Probe);
    const report = lintText(gateway, configMap("secure-port: 8443\nhealth-port: 9090\n"));
    assert.deepEqual(hitsOf(report), markersIn(gateway));
    assert.match(
      report.findings[0]?.message ?? "",
      /\(secure-port: 8443 in config\.yaml of ConfigMap auth\/gw-config\)/,
    );
    assert.match(report.findings[0]?.fix ?? "", /health port 9090/);
    // Without the file, 8443 is not the gateway's port (443 by default): nothing to report.
    assert.deepEqual(hitsOf(lintText(gateway)), []);
  });

  it("flags a binding without the oidc: prefix when config.yaml sets oidc-username-prefix", () => {
    const subjects = binding(`  - {kind: User, name: "oidc:carol@example.com"}
  - kind: User
    name: bob@example.com # expect: rbac-subject-prefix
`);
    const report = lintText(subjects, plainMount(), configMap(oidcConfig));
    assert.deepEqual(hitsOf(report), markersIn(subjects));
    assert.equal(report.findings[0]?.severity, "error");
    assert.equal(report.findings[0]?.fix, "Write the subject as 'oidc:bob@example.com'.");
    // Without the ConfigMap the gateway configures no issuer lint can see: as before, no finding.
    assert.deepEqual(hitsOf(lintText(subjects, plainMount())), []);
  });

  it("lets flags beat KOG_* variables and variables beat the file, as serve does", () => {
    const env = `          env:
            - {name: KOG_OIDC_USERNAME_PREFIX, value: "env:"}
`;
    const prefixOf = (report: ReturnType<typeof lintText>) =>
      /puts '([^']*)' on usernames \(([^)]*)\)/.exec(report.findings[0]?.message ?? "")?.slice(1);
    const subjects = binding("  - {kind: User, name: bob@example.com}\n");
    // The file says oidc:, the variable env:.
    assert.deepEqual(prefixOf(lintText(subjects, plainMount(undefined, env), configMap(oidcConfig))), [
      "env:",
      "KOG_OIDC_USERNAME_PREFIX=env:",
    ]);
    // The flag beats both.
    const flagged = plainMount('[serve, --config=/etc/gw/config.yaml, "--oidc-username-prefix=flag:"]', env);
    assert.deepEqual(prefixOf(lintText(subjects, flagged, configMap(oidcConfig))), [
      "flag:",
      "--oidc-username-prefix=flag:",
    ]);
    // And the file still fills in what neither sets (the issuer, the email claim).
    const report = lintText(
      binding('  - {kind: User, name: "flag:bob@example.com"}\n'),
      flagged,
      configMap(oidcConfig),
    );
    assert.deepEqual(hitsOf(report), []);
  });

  it("follows KOG_CONFIG, subPath mounts and configMap items", () => {
    const subjects = binding(`  - kind: User
    name: bob@example.com # expect: rbac-subject-prefix
`);
    // KOG_CONFIG, and a file mounted alone with subPath.
    const subPath = deployment(
      `          args: [serve]
          env: [{name: KOG_CONFIG, value: /config/gateway.yaml}]
          volumeMounts: [{name: config, mountPath: /config/gateway.yaml, subPath: gateway.yaml}]`,
      "        - {name: config, configMap: {name: gw-config}}",
    );
    assert.deepEqual(hitsOf(lintText(subjects, subPath, configMap(oidcConfig, { key: "gateway.yaml" }))), [
      "rbac-subject-prefix@7",
    ]);
    // items map the key settings to the path conf/gateway.yaml; the longest mountPath wins.
    const items = deployment(
      `          args: [serve, --config, /etc/gw/conf/gateway.yaml]
          volumeMounts:
            - {name: other, mountPath: /etc}
            - {name: config, mountPath: /etc/gw}`,
      `        - {name: other, emptyDir: {}}
        - name: config
          configMap:
            name: gw-config
            items: [{key: settings, path: conf/gateway.yaml}]`,
    );
    assert.deepEqual(hitsOf(lintText(subjects, items, configMap(oidcConfig, { key: "settings" }))), [
      "rbac-subject-prefix@7",
    ]);
    // A key the items do not project is not the file.
    const unprojected = items.replace("path: conf/gateway.yaml", "path: conf/other.yaml");
    assert.deepEqual(hitsOf(lintText(subjects, unprojected, configMap(oidcConfig, { key: "settings" }))), []);
  });

  it("follows projected configMap sources with items, and matches namespaces as elsewhere in lint", () => {
    const subjects = binding(`  - kind: User
    name: bob@example.com # expect: rbac-subject-prefix
`);
    const projected = (namespace: string) =>
      deployment(
        `          args: [serve, --config=/etc/gw/gateway/config.yaml]
          volumeMounts: [{name: config, mountPath: /etc/gw}]`,
        `        - name: config
          projected:
            sources:
              - secret: {name: tls, items: [{key: tls.crt, path: tls/tls.crt}]}
              - configMap: {name: unrelated}
              - configMap: {name: gw-config, items: [{key: config.yaml, path: gateway/config.yaml}]}`,
        namespace,
      );
    assert.deepEqual(hitsOf(lintText(subjects, projected("auth"), configMap(oidcConfig))), ["rbac-subject-prefix@7"]);
    // A ConfigMap without a namespace (helm template without -n) matches too.
    assert.deepEqual(hitsOf(lintText(subjects, projected("auth"), configMap(oidcConfig, { namespace: "" }))), [
      "rbac-subject-prefix@7",
    ]);
    // One in another namespace does not: today's behaviour, no finding and no error.
    assert.deepEqual(hitsOf(lintText(subjects, projected("auth"), configMap(oidcConfig, { namespace: "other" }))), []);
  });

  it("locates a file value at its line inside the ConfigMap, flags and variables in the workload", () => {
    const text = `${plainMount(undefined, '          env: [{name: KOG_HEALTH_PORT, value: "9090"}]\n')}\n---\n${configMap(
      "health-port: 8080\nsecure-port: 8443\nreadiness-probe-port: 7070\n",
    )}`;
    const { objects } = loadManifests([{ file: "all.yaml", text }]);
    const [container] = workloadsOf(objects).flatMap(containersOf);
    assert.ok(container);
    const { settings, configFile } = gatewaySettings(container, objects);
    assert.equal(configFile?.key, "config.yaml");
    assert.equal(configFile?.file, "/etc/gw/config.yaml");
    const secure = settings.get("secure-port");
    const lines = text.split("\n");
    assert.equal(secure?.from, "file");
    assert.equal(secure?.object.kind, "ConfigMap");
    assert.equal(lines[(secure?.position?.line ?? 0) - 1]?.trim(), "secure-port: 8443");
    // The variable beats the file's health-port and its alias readiness-probe-port.
    assert.equal(settings.get("health-port")?.from, "env");
    assert.equal(settings.get("health-port")?.value, "9090");
    assert.equal(settings.get("config")?.from, "flag");
  });

  it("ignores what it cannot follow: no ConfigMap, a Secret volume, a file that is not a mapping", () => {
    const subjects = binding("  - {kind: User, name: bob@example.com}\n");
    const secret = deployment(
      `          args: [serve, --config=/etc/gw/config.yaml]
          volumeMounts: [{name: config, mountPath: /etc/gw}]`,
      "        - {name: config, secret: {secretName: gw-config}}",
    );
    assert.deepEqual(hitsOf(lintText(subjects, secret, configMap(oidcConfig))), []);
    assert.deepEqual(hitsOf(lintText(subjects, plainMount(), configMap("- not\n- a mapping\n"))), []);
    assert.deepEqual(hitsOf(lintText(subjects, plainMount(), configMap("oidc-issuer-url: [unclosed\n"))), []);
    // A path outside every mount.
    assert.deepEqual(
      hitsOf(lintText(subjects, plainMount("[serve, --config=/srv/config.yaml]"), configMap(oidcConfig))),
      [],
    );
  });
});
