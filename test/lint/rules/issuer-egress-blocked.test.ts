import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { LintReport } from "../../../src/lint/lint.ts";
import { runCli } from "../../helpers/run-cli.ts";
import { fixtures, hitsOf, lintText, markersIn, only } from "../helpers.ts";

const inCluster = join(fixtures, "in-cluster-issuer");
const chartFile = join(inCluster, "chart-render-60f0455.yaml");
const keycloakFile = join(inCluster, "keycloak.yaml");
const chart = readFileSync(chartFile, "utf8");
const keycloak = readFileSync(keycloakFile, "utf8");

/** The chart's issuer egress as rendered before issue 20: any destination on 443 / world:443. */
const networkPolicyIssuerRule = `    # The OIDC issuer: discovery and keys (JWKS), and the token endpoint for browser sessions.
    - ports:
        - port: 443
          protocol: TCP
`;
const ciliumIssuerRule = `    - toEntities:
      - world
      toPorts:
      - ports:
        - port: "443"
          protocol: TCP
`;

/** The same rules toward Keycloak's pods on their port 8443. */
const fixedNetworkPolicy = `    # The OIDC issuer: Keycloak's pods on their port (the Service's targetPort).
    - to:
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: keycloak}}
          podSelector: {matchLabels: {app.kubernetes.io/name: keycloak}}
      ports:
        - port: 8443
          protocol: TCP
`;
const fixedCilium = `    - toEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: keycloak
            app.kubernetes.io/name: keycloak
      toPorts:
      - ports:
        - port: "8443"
          protocol: TCP
`;

function replaced(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `the fixture holds ${JSON.stringify(from.slice(0, 60))}`);
  return text.replace(from, to);
}

const fixedChart = replaced(
  replaced(chart, networkPolicyIssuerRule, fixedNetworkPolicy),
  ciliumIssuerRule,
  fixedCilium,
);

/** The 1-based line in the chart fixture of line `offset` of `block`. */
const lineOf = (block: string, offset: number) => chart.slice(0, chart.indexOf(block)).split("\n").length + offset;

/** Findings of the two egress rules, as `rule kind` strings. */
const egressFindings = (report: LintReport) =>
  report.findings
    .filter((f) => f.ruleId === "issuer-egress-blocked" || f.ruleId === "netpol-service-port")
    .map((f) => `${f.ruleId} ${f.object?.kind}`);

describe("issuer-egress-blocked", () => {
  it("flags the chart as rendered with an in-cluster Keycloak issuer (error, exit 1): both policies, on their issuer rules", async () => {
    // Before this rule, `lint` said "No findings" on these two files.
    const run = await runCli(["lint", "--output=json", chartFile, keycloakFile]);
    assert.equal(run.code, 1, run.stderr);
    const findings = JSON.parse(run.stdout).findings as { ruleId: string; severity: string; line: number }[];
    assert.deepEqual(
      findings.map((f) => `${f.ruleId} ${f.severity} ${f.line}`),
      // The issuer rules: the NetworkPolicy's `- ports: [443]` and the Cilium `- toEntities: [world]`.
      [lineOf(networkPolicyIssuerRule, 1), lineOf(ciliumIssuerRule, 0)].map(
        (line) => `issuer-egress-blocked error ${line}`,
      ),
    );
    const report = lintText(chart, keycloak);
    const [networkPolicy, cilium] = only(report, "issuer-egress-blocked");
    assert.match(
      networkPolicy?.message ?? "",
      /fetches its OIDC issuer https:\/\/keycloak\.keycloak\.svc\/realms\/kubernetes \(oidc-issuer-url: "https:\/\/keycloak\.keycloak\.svc\/realms\/kubernetes" in config\.yaml of ConfigMap kube-oidc-gateway\/kube-oidc-gateway\), which is Service keycloak\/keycloak port 443, forwarded to the pods' port 8443 \(targetPort https\)/,
    );
    assert.match(
      networkPolicy?.message ?? "",
      /closest rule, spec\.egress\[2\], allows TCP port 443 to any destination: 443 is the Service's port/,
    );
    assert.match(
      networkPolicy?.fix ?? "",
      /namespaceSelector: \{matchLabels: \{kubernetes\.io\/metadata\.name: keycloak\}\}, podSelector: \{matchLabels: \{app\.kubernetes\.io\/name: keycloak\}\}\}\], ports: \[\{port: 8443, protocol: TCP\}\]/,
    );
    assert.match(
      cilium?.message ?? "",
      /closest rule, spec\.egress\[2\], allows TCP port 443 to entity world: Cilium's world entity is every destination outside the cluster/,
    );
    assert.match(
      cilium?.fix ?? "",
      /toEndpoints: \[\{matchLabels: \{k8s:io\.kubernetes\.pod\.namespace: keycloak, app\.kubernetes\.io\/name: keycloak\}\}\], toPorts: \[\{ports: \[\{port: "8443", protocol: TCP\}\]\}\]/,
    );
  });

  it("passes the same render with the issuer egress toward Keycloak's pods on 8443 (NetworkPolicy and Cilium)", async () => {
    assert.deepEqual(lintText(fixedChart, keycloak).findings, []);
    const run = await runCli(["lint", "-", keycloakFile], { stdin: fixedChart });
    assert.equal(run.code, 0, run.stdout);
  });

  it("passes when only one engine's policy allows the pods: policies selecting a pod add up, and Cilium enforces NetworkPolicy too", () => {
    const networkPolicyOnly = replaced(chart, networkPolicyIssuerRule, fixedNetworkPolicy);
    assert.deepEqual(egressFindings(lintText(networkPolicyOnly, keycloak)), []);
    const ciliumOnly = replaced(chart, ciliumIssuerRule, fixedCilium);
    assert.deepEqual(egressFindings(lintText(ciliumOnly, keycloak)), []);
  });

  it("does not fire for an issuer outside the cluster (keycloak.example.com)", () => {
    const external = chart.replaceAll(
      "https://keycloak.keycloak.svc/realms/kubernetes",
      "https://keycloak.example.com/realms/kubernetes",
    );
    assert.deepEqual(lintText(external, keycloak).findings, []);
  });

  it("reads a render without metadata.namespace (helm template without -n) the same way", () => {
    const withoutNamespace = (text: string) => text.replaceAll("  namespace: kube-oidc-gateway\n", "");
    assert.ok(!withoutNamespace(chart).includes("namespace: kube-oidc-gateway\n"));
    assert.deepEqual(egressFindings(lintText(withoutNamespace(chart), keycloak)), [
      "issuer-egress-blocked NetworkPolicy",
      "issuer-egress-blocked CiliumNetworkPolicy",
    ]);
    assert.deepEqual(egressFindings(lintText(withoutNamespace(fixedChart), keycloak)), []);
  });

  it("reads CiliumClusterwideNetworkPolicy (specs lists, selectors in every namespace) and NetworkPolicy without policyTypes", () => {
    const gateway = `apiVersion: apps/v1
kind: Deployment
metadata: {name: gateway, namespace: gw}
spec:
  selector: {matchLabels: {app: gateway}}
  template:
    metadata: {labels: {app: gateway}}
    spec:
      containers: [{name: gateway, image: example/kube-oidc-gateway:1, args: [serve, --oidc-issuer-url=https://keycloak.keycloak.svc/realms/k]}]
`;
    const clusterwide = (egress: string) => `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: gateways}
specs:
  - endpointSelector: {matchLabels: {app: other}}
    egress: [{toEntities: [world]}]
  - endpointSelector: {matchLabels: {app: gateway}}
    egress:
      - ${egress}
`;
    const world = clusterwide(
      "{toEntities: [world], toPorts: [{ports: [{port: '443'}]}]} # expect: issuer-egress-blocked",
    );
    assert.deepEqual(hitsOf(lintText(gateway, keycloak, world)), markersIn(world));
    assert.match(
      only(lintText(gateway, keycloak, world), "issuer-egress-blocked")[0]?.message ?? "",
      /closest rule, specs\[1\]\.egress\[0\]/,
    );
    // A clusterwide selector without a namespace label selects pods in every namespace.
    const pods = clusterwide(
      "{toEndpoints: [{matchLabels: {app.kubernetes.io/name: keycloak}}], toPorts: [{ports: [{port: '8443'}]}]}",
    );
    assert.deepEqual(egressFindings(lintText(gateway, keycloak, pods)), []);
    // The same selector in a namespaced CiliumNetworkPolicy means the policy's namespace only.
    const namespaced = pods.replace(
      "kind: CiliumClusterwideNetworkPolicy\nmetadata: {name: gateways}",
      "kind: CiliumNetworkPolicy\nmetadata: {name: gateways, namespace: gw}",
    );
    assert.deepEqual(egressFindings(lintText(gateway, keycloak, namespaced)), [
      "issuer-egress-blocked CiliumNetworkPolicy",
    ]);
    // policyTypes left out: a policy with egress rules isolates egress.
    const implicit = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: gateway, namespace: gw}
spec:
  podSelector: {}
  egress:
    - ports: [{port: 443}] # expect: issuer-egress-blocked
`;
    assert.deepEqual(hitsOf(lintText(gateway, keycloak, implicit)), markersIn(implicit));
  });

  it("needs the Service in the input: the render alone says nothing about keycloak.keycloak.svc", () => {
    assert.deepEqual(egressFindings(lintText(chart)), []);
  });

  it("reads the issuer from a flag or a KOG_ variable as well as from the chart's ConfigMap, flags first", () => {
    const viaFlag = chart
      .replace(
        "oidc-issuer-url: https://keycloak.keycloak.svc/realms/kubernetes",
        "oidc-issuer-url: https://keycloak.example.com/",
      )
      .replace(
        "- --config=/etc/kube-oidc-gateway/config.yaml",
        "- --config=/etc/kube-oidc-gateway/config.yaml\n            - --oidc-issuer-url=https://keycloak.keycloak/realms/kubernetes",
      );
    const [byFlag] = only(lintText(viaFlag, keycloak), "issuer-egress-blocked");
    assert.match(byFlag?.message ?? "", /\(--oidc-issuer-url=https:\/\/keycloak\.keycloak\/realms\/kubernetes\)/);
    const viaEnv = chart
      .replace(
        "oidc-issuer-url: https://keycloak.keycloak.svc/realms/kubernetes",
        "oidc-issuer-url: https://keycloak.example.com/",
      )
      .replace(
        "            - name: NODE_OPTIONS",
        "            - name: KOG_OIDC_ISSUER_URL\n              value: https://keycloak.keycloak.svc.cluster.local/realms/kubernetes\n            - name: NODE_OPTIONS",
      );
    const [byEnv] = only(lintText(viaEnv, keycloak), "issuer-egress-blocked");
    assert.match(
      byEnv?.message ?? "",
      /\(KOG_OIDC_ISSUER_URL=https:\/\/keycloak\.keycloak\.svc\.cluster\.local\/realms\/kubernetes\)/,
    );
  });

  it("reads the gateway's --authentication-config file (discoveryURL before url: it is what is fetched)", () => {
    const withAuthConfig = chart
      .replace(
        "    oidc-issuer-url: https://keycloak.keycloak.svc/realms/kubernetes\n",
        "    authentication-config: /etc/kube-oidc-gateway/authn.yaml\n",
      )
      .replace(
        "  config.yaml: |",
        `  authn.yaml: |
    apiVersion: apiserver.config.k8s.io/v1
    kind: AuthenticationConfiguration
    jwt:
      - issuer:
          url: https://login.example.com/realms/kubernetes
          discoveryURL: https://keycloak.keycloak.svc/realms/kubernetes/.well-known/openid-configuration
          audiences: [headlamp]
        claimMappings: {username: {claim: sub, prefix: "oidc:"}}
  config.yaml: |`,
      );
    const findings = only(lintText(withAuthConfig, keycloak), "issuer-egress-blocked");
    assert.equal(findings.length, 2);
    assert.match(
      findings[0]?.message ?? "",
      /\(jwt\[0\]\.issuer\.discoveryURL: https:\/\/keycloak\.keycloak\.svc\/realms\/kubernetes\/\.well-known\/openid-configuration in authn\.yaml of ConfigMap kube-oidc-gateway\/kube-oidc-gateway\)/,
    );
  });

  it("reads kube-oidc-proxy's, kube-apiserver's and Headlamp's issuer flags", () => {
    const client = (image: string, args: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: client, namespace: auth}
spec:
  selector: {matchLabels: {app: client}}
  template:
    metadata: {labels: {app: client}}
    spec:
      containers:
        - {name: main, image: ${image}, args: [${args}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client, namespace: auth}
spec:
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
  egress:
    - ports: [{port: 443}] # expect: issuer-egress-blocked
`;
    for (const [image, args] of [
      ["quay.io/jetstack/kube-oidc-proxy:v0.3.0", "--oidc-issuer-url=https://keycloak.keycloak.svc/realms/k"],
      ["registry.k8s.io/kube-apiserver:v1.33.0", "--oidc-issuer-url=https://keycloak.keycloak.svc/realms/k"],
      ["ghcr.io/headlamp-k8s/headlamp:v0.30.0", "-oidc-idp-issuer-url=https://keycloak.keycloak.svc/realms/k"],
      // As Headlamp's chart writes it: the kubelet expands $(VAR) from the container's env.
      [
        "ghcr.io/headlamp-k8s/headlamp:v0.30.0",
        '-oidc-idp-issuer-url=$(OIDC_ISSUER_URL)], env: [{name: OIDC_ISSUER_URL, value: "https://keycloak.keycloak/realms/k"}',
      ],
    ] as const) {
      const text = client(image, args);
      assert.deepEqual(hitsOf(lintText(text, keycloak), "issuer-egress-blocked"), markersIn(text), image);
    }
  });

  // Review of issue 20: a kube-apiserver static pod runs on the node's network, where network
  // policies do not isolate it; a policy whose selector matches its labels was reported anyway.
  it("says nothing of a client on the node's network (hostNetwork: true), which policies do not isolate", () => {
    const text = `apiVersion: v1
kind: Pod
metadata: {name: kube-apiserver, namespace: auth, labels: {app: client}}
spec:
  hostNetwork: true
  containers:
    - {name: kube-apiserver, image: registry.k8s.io/kube-apiserver:v1.33.0, command: [kube-apiserver, --oidc-issuer-url=https://keycloak.keycloak.svc/realms/k]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client, namespace: auth}
spec:
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
  egress:
    - ports: [{port: 443}]
`;
    assert.deepEqual(hitsOf(lintText(text, keycloak), "issuer-egress-blocked"), []);
    // The control: the same pod on the pod network is reported.
    assert.equal(
      hitsOf(lintText(text.replace("  hostNetwork: true\n", ""), keycloak), "issuer-egress-blocked").length,
      1,
    );
  });

  it("says nothing when no egress policy isolates the client (no policy, or policyTypes: [Ingress] only)", () => {
    const noEgress = chart.replace("policyTypes: [Ingress, Egress]", "policyTypes: [Ingress]");
    const withoutCilium = noEgress.slice(
      0,
      noEgress.indexOf("# Source: kube-oidc-gateway/templates/ciliumnetworkpolicy.yaml"),
    );
    assert.deepEqual(egressFindings(lintText(withoutCilium, keycloak)), []);
    const ciliumNoDefaultDeny = replaced(
      chart.replace("policyTypes: [Ingress, Egress]", "policyTypes: [Ingress]"),
      "  egress:\n    - toEndpoints:",
      "  enableDefaultDeny: {egress: false}\n  egress:\n    - toEndpoints:",
    );
    assert.deepEqual(egressFindings(lintText(ciliumNoDefaultDeny, keycloak)), []);
  });

  describe("generated: fires exactly when no allowed (destination, port) reaches the issuer's pod on its port", () => {
    type Shape = "any" | "pods" | "namespace" | "other-pods" | "outside";
    type TargetForm = "number" | "name" | "omitted";
    type HostForm = "name.ns.svc" | "name.ns.svc.cluster.local" | "name.ns" | "name";
    const shapes: Shape[] = ["any", "pods", "namespace", "other-pods", "outside"];
    const hostForms: HostForm[] = ["name.ns.svc", "name.ns.svc.cluster.local", "name.ns", "name"];
    /** [Service port, pod port, targetPort form] */
    const portCases: [number, number, TargetForm][] = [
      [443, 8443, "number"],
      [443, 8443, "name"],
      [8443, 8443, "omitted"],
      [80, 8080, "name"],
    ];
    const allowedPorts = (service: number, pod: number) => [service, pod, "all", "https"] as const;

    /** The expected verdict, from the parameters alone (not from the evaluator under test). */
    const reaches = (shape: Shape) => shape === "any" || shape === "pods" || shape === "namespace";
    const portAllows = (allowed: number | "all" | "https", pod: number) =>
      allowed === "all" || allowed === pod || allowed === "https";

    function manifests(
      engine: "kubernetes" | "cilium",
      shape: Shape,
      [servicePort, podPort, form]: [number, number, TargetForm],
      hostForm: HostForm,
      allowed: number | "all" | "https",
    ): string {
      // A bare `name` resolves in the client's own namespace: put the issuer there.
      const issuerNamespace = hostForm === "name" ? "gw" : "idp";
      const host = hostForm.replace("name", "issuer").replace("ns", issuerNamespace);
      const url = `${servicePort === 443 ? "https" : "http"}://${host}${[443, 80].includes(servicePort) ? "" : `:${servicePort}`}/realms/k`;
      const targetPort = form === "number" ? `, targetPort: ${podPort}` : form === "name" ? ", targetPort: https" : "";
      const issuer = `apiVersion: v1
kind: Service
metadata: {name: issuer, namespace: ${issuerNamespace}}
spec:
  selector: {app: issuer}
  ports: [{name: web, port: ${servicePort}${targetPort}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: issuer, namespace: ${issuerNamespace}}
spec:
  selector: {matchLabels: {app: issuer}}
  template:
    metadata: {labels: {app: issuer, tier: idp}}
    spec:
      containers: [{name: idp, image: example/idp:1, ports: [{name: https, containerPort: ${podPort}}]}]
`;
      const gateway = `apiVersion: apps/v1
kind: Deployment
metadata: {name: gateway, namespace: gw}
spec:
  selector: {matchLabels: {app: gateway}}
  template:
    metadata: {labels: {app: gateway}}
    spec:
      containers: [{name: gateway, image: example/kube-oidc-gateway:1, args: [serve, "--oidc-issuer-url=${url}"]}]
`;
      let policy: string;
      if (engine === "kubernetes") {
        const to = {
          any: "",
          pods: `to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ${issuerNamespace}}}, podSelector: {matchLabels: {app: issuer}}}], `,
          namespace: `to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ${issuerNamespace}}}}], `,
          "other-pods": `to: [{namespaceSelector: {}, podSelector: {matchLabels: {app: other}}}], `,
          outside: "to: [{ipBlock: {cidr: 0.0.0.0/0}}], ",
        }[shape];
        const ports = allowed === "all" ? "" : `ports: [{port: ${allowed}, protocol: TCP}]`;
        policy = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: gateway, namespace: gw}
spec:
  podSelector: {matchLabels: {app: gateway}}
  policyTypes: [Egress]
  egress:
    - {${to}${ports}}
`;
      } else {
        const to = {
          any: "",
          pods: `toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: ${issuerNamespace}, app: issuer}}], `,
          namespace: `toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: ${issuerNamespace}}}], `,
          "other-pods": `toEndpoints: [{matchLabels: {app: other}}], `,
          outside: "toEntities: [world], ",
        }[shape];
        const ports = allowed === "all" ? "" : `toPorts: [{ports: [{port: "${allowed}", protocol: TCP}]}]`;
        policy = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: gateway, namespace: gw}
spec:
  endpointSelector: {matchLabels: {app: gateway}}
  egress:
    - {${to}${ports}}
`;
      }
      return [issuer, gateway, policy].join("---\n");
    }

    let cases = 0;
    let firing = 0;
    for (const engine of ["kubernetes", "cilium"] as const) {
      it(`${engine}: every shape × port case × URL form × allowed port`, () => {
        for (const shape of shapes) {
          for (const portCase of portCases) {
            for (const hostForm of hostForms) {
              for (const allowed of allowedPorts(portCase[0], portCase[1])) {
                const text = manifests(engine, shape, portCase, hostForm, allowed);
                const expected = !(reaches(shape) && portAllows(allowed, portCase[1]));
                const found = egressFindings(lintText(text));
                const label = JSON.stringify({ engine, shape, portCase, hostForm, allowed });
                assert.deepEqual(
                  found,
                  expected
                    ? [`issuer-egress-blocked ${engine === "kubernetes" ? "NetworkPolicy" : "CiliumNetworkPolicy"}`]
                    : [],
                  label,
                );
                cases++;
                if (expected) firing++;
              }
            }
          }
        }
      });
    }
    it("covered both outcomes", () => {
      assert.equal(cases, 2 * shapes.length * portCases.length * hostForms.length * 4);
      assert.ok(firing > 0 && firing < cases, `${firing} of ${cases} cases fire`);
    });
  });
});
