import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configMapFileAt } from "../../src/doctor/workloads.ts";

describe("the ConfigMap key behind a container's file", () => {
  const container = {
    volumeMounts: [
      { name: "config", mountPath: "/etc/kube-oidc-gateway" },
      { name: "single", mountPath: "/etc/other/settings.yaml", subPath: "settings.yaml" },
    ],
  };
  const volumes = [
    {
      name: "config",
      projected: {
        sources: [
          { configMap: { name: "ca", items: [{ key: "ca.crt", path: "issuer-ca.crt" }] } },
          { configMap: { name: "gateway", items: [{ key: "config.yaml", path: "config.yaml" }] } },
        ],
      },
    },
    { name: "single", configMap: { name: "plain" } },
  ];

  it("follows a projected volume's items to the key", () => {
    assert.deepEqual(configMapFileAt(container, volumes, "/etc/kube-oidc-gateway/config.yaml"), {
      configMap: "gateway",
      key: "config.yaml",
      path: "/etc/kube-oidc-gateway/config.yaml",
    });
  });

  it("follows a subPath mount of a plain configMap volume", () => {
    assert.equal(configMapFileAt(container, volumes, "/etc/other/settings.yaml")?.key, "settings.yaml");
  });

  it("finds nothing where no ConfigMap provides the file", () => {
    assert.equal(configMapFileAt(container, volumes, "/etc/kube-oidc-gateway/missing.yaml"), undefined);
    assert.equal(configMapFileAt(container, volumes, "/var/config.yaml"), undefined);
  });
});
