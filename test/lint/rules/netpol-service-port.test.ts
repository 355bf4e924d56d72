import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadManifests } from "../../../src/lint/manifests.ts";
import { netpolServicePort } from "../../../src/lint/rules/netpol-service-port.ts";
import { hitsOf, lintText, lintTextWithConfig, markersIn, only } from "../helpers.ts";

const apiService = `apiVersion: v1
kind: Service
metadata: {name: api, namespace: api}
spec:
  selector: {app: api}
  ports:
    - {name: https, port: 443, targetPort: 8443}
`;

const egressPolicy = (port: number) => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-egress, namespace: web}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
    - to:
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: api}}
          podSelector: {matchLabels: {app: api}}
      ports:
        - protocol: TCP
          port: ${port} # expect: netpol-service-port
`;

describe("netpol-service-port", () => {
  it("flags a NetworkPolicy egress port that is the Service port, not its targetPort", () => {
    const policy = egressPolicy(443);
    const report = lintText(policy, apiService);
    assert.deepEqual(hitsOf(report), markersIn(policy));
    const [finding] = only(report, "netpol-service-port");
    assert.match(
      finding?.message ?? "",
      /egress port 443 is the port of Service api\/api, which forwards it to targetPort 8443/,
    );
    assert.equal(finding?.fix, "Allow port 8443 (the pod's port) instead of 443.");
    assert.equal(finding?.severity, "error");
  });

  it("passes the same policy on the pod port", () => {
    assert.deepEqual(hitsOf(lintText(egressPolicy(8443), apiService)), []);
  });

  it("resolves a named targetPort through the pods of a workload selected by labels the Service does not name", () => {
    // The policy selects `tier: backend`, a label only the Deployment's pods carry; the Service
    // forwards to the container port named "https", which only the Deployment defines.
    const policy = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: web}
spec:
  endpointSelector: {matchLabels: {app: web}}
  egress:
    - toEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: api
            tier: backend
      toPorts:
        - ports:
            - port: "443" # expect: netpol-service-port
              protocol: TCP
`;
    const service = `apiVersion: v1
kind: Service
metadata: {name: api, namespace: api}
spec:
  selector: {app: api}
  ports:
    - {port: 443, targetPort: https}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: api}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api, tier: backend}}
    spec:
      containers:
        - name: server
          image: example/api:1
          ports:
            - {name: https, containerPort: 9443}
`;
    const report = lintText(policy, service);
    assert.deepEqual(hitsOf(report), markersIn(policy));
    assert.match(
      only(report, "netpol-service-port")[0]?.message ?? "",
      /targetPort 9443 \(the container port named https in container server\)/,
    );
  });

  it("stays silent when a named targetPort cannot be resolved from the input", () => {
    const service = apiService.replace("targetPort: 8443", "targetPort: https");
    assert.deepEqual(hitsOf(lintText(egressPolicy(443), service)), []);
  });

  it("flags an ingress port of the policy's own pods", () => {
    const policy = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-ingress, namespace: api}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
    - ports:
        - port: 443 # expect: netpol-service-port
`;
    assert.deepEqual(hitsOf(lintText(policy, apiService)), markersIn(policy));
  });

  it("passes when the pods also listen on the Service port", () => {
    const workload = `apiVersion: v1
kind: Pod
metadata: {name: api, namespace: api, labels: {app: api}}
spec:
  containers:
    - name: server
      image: example/api:1
      ports: [{containerPort: 443}, {containerPort: 8443}]
`;
    assert.deepEqual(hitsOf(lintText(egressPolicy(443), apiService, workload)), []);
  });

  it("ignores Services in another namespace than the peer selects", () => {
    const elsewhere = apiService.replace("namespace: api", "namespace: other");
    assert.deepEqual(hitsOf(lintText(egressPolicy(443), elsewhere)), []);
  });

  it("is disabled by the object's annotation and re-graded by another", () => {
    const disabled = egressPolicy(443).replace(
      "metadata: {name: web-egress, namespace: web}",
      'metadata: {name: web-egress, namespace: web, annotations: {lint.kube-oidc-gateway.io/disable: "netpol-service-port"}}',
    );
    assert.deepEqual(hitsOf(lintText(disabled, apiService)), []);
    const regraded = egressPolicy(443).replace(
      "metadata: {name: web-egress, namespace: web}",
      'metadata: {name: web-egress, namespace: web, annotations: {lint.kube-oidc-gateway.io/severity: "netpol-service-port=info"}}',
    );
    assert.deepEqual(
      lintText(regraded, apiService).findings.map((f) => f.severity),
      ["info"],
    );
  });

  it("grades a match through a broad peer (namespaceSelector: {} alone) as info, not error", () => {
    // A generic "allow HTTPS egress anywhere" policy and cert-manager's webhook Service (443 →
    // the pod's 10250): the policy is not about the webhook, so this must not fail a build.
    const policy = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-https-egress, namespace: app}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to:
        - namespaceSelector: {}
      ports:
        - {port: 443, protocol: TCP} # expect: netpol-service-port
`;
    const webhook = `apiVersion: v1
kind: Service
metadata: {name: cert-manager-webhook, namespace: cert-manager}
spec:
  selector: {app.kubernetes.io/name: webhook}
  ports:
    - {name: https, port: 443, targetPort: https}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cert-manager-webhook, namespace: cert-manager}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: webhook}}
  template:
    metadata: {labels: {app.kubernetes.io/name: webhook}}
    spec:
      containers:
        - name: webhook
          image: quay.io/jetstack/cert-manager-webhook:v1.15.0
          ports: [{name: https, containerPort: 10250}]
`;
    const report = lintText(policy, webhook);
    assert.deepEqual(hitsOf(report), markersIn(policy));
    assert.deepEqual(
      report.findings.map((f) => f.severity),
      ["info"],
    );
    assert.match(report.findings[0]?.message ?? "", /select whole namespaces or every pod/);
    // The config file's grading does not lift it above info either.
    assert.deepEqual(
      lintTextWithConfig("rules: {netpol-service-port: error}\n", policy, webhook).findings.map((f) => f.severity),
      ["info"],
    );
    // A lone podSelector: {} (every pod of the policy's namespace) is as broad.
    const sameNamespace = policy
      .replace("- namespaceSelector: {}", "- podSelector: {}")
      .replace("namespace: app", "namespace: cert-manager");
    assert.deepEqual(
      lintText(sameNamespace, webhook).findings.map((f) => f.severity),
      ["info"],
    );
  });

  it("matches objects without metadata.namespace (helm template output) against a peer's namespace selector", () => {
    // The incident's broken CiliumNetworkPolicy, its namespace selector intact, with every
    // `namespace:` removed from the manifests as `helm template` without -n renders them.
    const policy = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: headlamp}
spec:
  endpointSelector: {matchLabels: {app.kubernetes.io/name: headlamp}}
  egress:
    - toEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: kube-oidc-proxy
            app.kubernetes.io/name: kube-oidc-proxy
      toPorts:
        - ports:
            - port: "443" # expect: netpol-service-port
              protocol: TCP
`;
    const proxy = `apiVersion: v1
kind: Service
metadata: {name: kube-oidc-proxy}
spec:
  selector: {app.kubernetes.io/name: kube-oidc-proxy}
  ports: [{name: https, port: 443, targetPort: https}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: kube-oidc-proxy}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: kube-oidc-proxy}}
  template:
    metadata: {labels: {app.kubernetes.io/name: kube-oidc-proxy}}
    spec:
      containers:
        - {name: kube-oidc-proxy, image: quay.io/jetstack/kube-oidc-proxy:v0.3.0, ports: [{name: https, containerPort: 8443}]}
`;
    assert.deepEqual(hitsOf(lintText(policy, proxy)), markersIn(policy));
    // The same with a NetworkPolicy peer that ANDs a namespaceSelector and a podSelector.
    const networkPolicy = egressPolicy(443).replace("namespace: web}", "}");
    const service = apiService.replace("{name: api, namespace: api}", "{name: api}");
    assert.deepEqual(hitsOf(lintText(networkPolicy, service)), markersIn(networkPolicy));
  });

  describe("a rule to any destination on a Service's port", () => {
    const client = (env: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: example/web:1
          env: [{name: API_URL, value: "${env}"}]
`;
    const anyDestination = (ports: string) => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-egress, namespace: web}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
    - ports:
${ports}`;
    const port443 = "        - {port: 443, protocol: TCP} # expect: netpol-service-port\n";

    it("is an error when a pod the policy isolates connects to that Service (a URL in its environment)", () => {
      // Before: "any destination" says nothing about which Service the port is for, so this was silent.
      const policy = anyDestination(port443);
      const report = lintText(policy, apiService, client("https://api.api.svc/v1"));
      assert.deepEqual(hitsOf(report), markersIn(policy));
      const [finding] = only(report, "netpol-service-port");
      assert.equal(finding?.severity, "error");
      assert.match(
        finding?.message ?? "",
        /egress port 443 \(to any destination\) is the port of Service api\/api, which Deployment web\/web connects to \(API_URL=https:\/\/api\.api\.svc\/v1\); the Service forwards it to targetPort 8443/,
      );
      assert.equal(finding?.fix, "Allow port 8443 (the pod's port) to the pods of api/api (app=api).");
    });

    it("reads a client-go client's KUBERNETES_SERVICE_HOST/PORT (a dashboard pointed at a gateway) and $(VAR) in args", () => {
      const dashboard = (env: string, args = "[]") => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - {name: web, image: example/web:1, env: [${env}], args: ${args}}
`;
      const policy = anyDestination(port443);
      for (const client of [
        dashboard("{name: KUBERNETES_SERVICE_HOST, value: api.api.svc}, {name: KUBERNETES_SERVICE_PORT, value: '443'}"),
        dashboard("{name: KUBERNETES_SERVICE_HOST, value: api.api.svc}"),
        dashboard("{name: API, value: api.api}", '["--server=https://$(API)/"]'),
      ]) {
        assert.deepEqual(hitsOf(lintText(policy, apiService, client)), markersIn(policy), client);
      }
      // A variable with no value in the input is not guessed at.
      assert.deepEqual(hitsOf(lintText(policy, apiService, dashboard("", '["--server=https://$(API)/"]'))), []);
    });

    it("stays silent with no client of that Service in the input (today's behaviour)", () => {
      assert.deepEqual(hitsOf(lintText(anyDestination(port443), apiService)), []);
      assert.deepEqual(hitsOf(lintText(anyDestination(port443), apiService, client("https://other.example.com/"))), []);
    });

    it("stays silent when the policy also lets the connection reach the pods' port", () => {
      const both = anyDestination("        - {port: 443, protocol: TCP}\n        - {port: 8443, protocol: TCP}\n");
      assert.deepEqual(hitsOf(lintText(both, apiService, client("https://api.api.svc/v1"))), []);
      const anotherRule = `${anyDestination("        - {port: 443, protocol: TCP}\n")}    - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: api}}, podSelector: {matchLabels: {app: api}}}]
      ports: [{port: 8443}]
`;
      assert.deepEqual(hitsOf(lintText(anotherRule, apiService, client("https://api.api.svc/v1"))), []);
    });

    it("one finding per cause: a dropped issuer connection is issuer-egress-blocked's, even through a peer naming the pods", () => {
      const gateway = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: gw, image: example/kube-oidc-proxy:1, args: ["--oidc-issuer-url=https://api.api.svc/realms/k"]}]
`;
      const policy = egressPolicy(443).replace("# expect: netpol-service-port", "# expect: issuer-egress-blocked");
      const report = lintText(policy, apiService, gateway);
      // The finding is on the rule (its `- to:` line), not on its port.
      assert.deepEqual(
        report.findings.map((f) => f.ruleId),
        ["issuer-egress-blocked"],
      );
      // The same policy without that client keeps netpol-service-port's finding.
      assert.deepEqual(hitsOf(lintText(egressPolicy(443), apiService)), markersIn(egressPolicy(443)));
    });
  });

  it("scales: 2000 Service + Deployment + NetworkPolicy triples lint within seconds, not minutes", () => {
    // Relating every policy rule to every Service, and recomputing each Service's workloads
    // for each pair, took 3m21s for 1000 triples.
    const triples: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const namespace = `ns${i % 50}`;
      triples.push(`apiVersion: v1
kind: Service
metadata: {name: s${i}, namespace: ${namespace}}
spec: {selector: {app: a${i}}, ports: [{name: https, port: 443, targetPort: https}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d${i}, namespace: ${namespace}}
spec:
  selector: {matchLabels: {app: a${i}}}
  template:
    metadata: {labels: {app: a${i}, tier: web}}
    spec: {containers: [{name: c, image: example/app:1, ports: [{name: https, containerPort: 8443}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np${i}, namespace: ${namespace}}
spec:
  podSelector: {matchLabels: {app: a${i}}}
  ingress: [{ports: [{port: 443}]}]
  egress: [{to: [{namespaceSelector: {}, podSelector: {matchLabels: {app: a${(i + 1) % 2000}}}}], ports: [{port: 443}]}]`);
    }
    const { objects } = loadManifests([{ file: "many.yaml", text: triples.join("\n---\n") }]);
    const started = performance.now();
    const hits = [...netpolServicePort.check({ objects, tokenLifetimeMs: undefined })];
    const elapsed = performance.now() - started;
    // Each policy's ingress and egress port names its Service's port 443 instead of 8443.
    assert.equal(hits.length, 4000);
    assert.ok(elapsed < 5000, `the rule took ${Math.round(elapsed)} ms`);
  });
});
