import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hitsOf, lintText, lintTextWithConfig, markersIn } from "../helpers.ts";

const proxy = (lines: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: kubeapps, namespace: kubeapps}
spec:
  selector: {matchLabels: {app: kubeapps}}
  template:
    metadata: {labels: {app: kubeapps}}
    spec:
      containers:
        - name: auth-proxy
          image: quay.io/oauth2-proxy/oauth2-proxy:v7.6.0
          args:
            - --provider=oidc
            - --oidc-issuer-url=https://keycloak.example.com/realms/kube
            - --client-id=kubeapps
            - --pass-authorization-header
${lines}`;

const realm = (lifespan: number) => `apiVersion: k8s.keycloak.org/v2alpha1
kind: KeycloakRealmImport
metadata: {name: kube, namespace: keycloak}
spec:
  keycloakCRName: keycloak
  realm: {realm: kube, accessTokenLifespan: ${lifespan}}
`;

describe("cookie-refresh", () => {
  it("flags an absent --cookie-refresh and says the lifetime is Keycloak's default", () => {
    const text = proxy("").replace("- name: auth-proxy", "- name: auth-proxy # expect: cookie-refresh");
    const report = lintText(text);
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.match(report.findings[0]?.message ?? "", /does not set --cookie-refresh/);
    assert.match(report.findings[0]?.message ?? "", /after 5m \(Keycloak's default access token lifespan/);
    assert.equal(report.findings[0]?.fix, "Add --cookie-refresh=2m (shorter than the 5m token lifespan).");
    // Issue 20: no refresh at all logs users out whatever the lifespan: an error, not a warning.
    assert.equal(report.findings[0]?.severity, "error");
  });

  it("grades a refresh not shorter than the lifespan an error when the lifespan is known, a warning when assumed", () => {
    const known = lintText(proxy("            - --cookie-refresh=10m\n"), realm(600));
    assert.deepEqual(
      known.findings.map((f) => f.severity),
      ["error"],
    );
    const assumed = lintText(proxy("            - --cookie-refresh=10m\n"));
    assert.deepEqual(
      assumed.findings.map((f) => f.severity),
      ["warning"],
    );
    assert.match(assumed.findings[0]?.message ?? "", /Keycloak's default access token lifespan/);
  });

  it("compares with the accessTokenLifespan of the Keycloak realm in the input", () => {
    const text = proxy("            - --cookie-refresh=10m # expect: cookie-refresh\n");
    const report = lintText(text, realm(600));
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.match(report.findings[0]?.message ?? "", /accessTokenLifespan of Keycloak realm kube in the input/);
    assert.deepEqual(hitsOf(lintText(proxy("            - --cookie-refresh=9m\n"), realm(600))), []);
  });

  it("uses tokenLifetime from the lint configuration when no realm is in the input", () => {
    const text = proxy("            - --cookie-refresh=2m # expect: cookie-refresh\n");
    const report = lintTextWithConfig("tokenLifetime: 1m\n", text);
    assert.deepEqual(hitsOf(report), markersIn(text));
    assert.match(report.findings[0]?.message ?? "", /tokenLifetime in the lint configuration/);
  });

  it("passes a refresh shorter than Keycloak's default, also from the environment", () => {
    assert.deepEqual(hitsOf(lintText(proxy("            - --cookie-refresh=2m\n"))), []);
    const fromEnv = `${proxy("")}          env: [{name: OAUTH2_PROXY_COOKIE_REFRESH, value: 1m}]\n`;
    assert.deepEqual(hitsOf(lintText(fromEnv)), []);
  });

  it("says nothing about an oauth2-proxy that does not forward tokens upstream", () => {
    const gateOnly = proxy("").replace("            - --pass-authorization-header\n", "");
    assert.deepEqual(hitsOf(lintText(gateOnly)), []);
    assert.deepEqual(
      hitsOf(
        lintText(
          gateOnly.replace("--client-id=kubeapps", "--client-id=kubeapps\n            - --pass-access-token=false"),
        ),
      ),
      [],
    );
  });

  it("sees token forwarding in flags, OAUTH2_PROXY_* variables and the config file", () => {
    const gateOnly = proxy("").replace("            - --pass-authorization-header\n", "");
    const flag = gateOnly.replace(
      "--client-id=kubeapps",
      "--client-id=kubeapps\n            - --set-authorization-header=true",
    );
    const env = `${gateOnly}          env: [{name: OAUTH2_PROXY_PASS_ACCESS_TOKEN, value: "true"}]\n`;
    const configFile = `${gateOnly.replace("--client-id=kubeapps", "--client-id=kubeapps\n            - --config=/etc/oauth2-proxy.cfg")}---
apiVersion: v1
kind: ConfigMap
metadata: {name: oauth2-proxy, namespace: kubeapps}
data:
  oauth2-proxy.cfg: |
    pass_access_token = true
`;
    for (const text of [flag, env, configFile]) {
      const report = lintText(text);
      assert.deepEqual(hitsOf(report, "cookie-refresh"), ["cookie-refresh@10"], text);
    }
    assert.match(lintText(env).findings[0]?.message ?? "", /forwards \(OAUTH2_PROXY_PASS_ACCESS_TOKEN\)/);
  });
});
