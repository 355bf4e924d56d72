// kube-apiserver's output negotiation under DefaultEndpointRestrictions (negotiate.go
// NegotiateMediaTypeOptions, goautoneg ParseAccept). The audit differential holds the decisive
// case against the real API server (a Table-only Accept on a failed authentication and on a 404);
// these are the rules, case by case.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { outputNegotiable } from "../../src/apiserver/accept-negotiation.ts";

describe("outputNegotiable", () => {
  it("serves JSON, YAML and protobuf, with wildcards, in any clause", () => {
    for (const accept of [
      undefined,
      "",
      "application/json",
      "*/*",
      "application/*",
      "application/yaml",
      "application/vnd.kubernetes.protobuf",
      "text/html, application/json;q=0.1",
      "application/json;pretty=1",
      "application/json;stream=watch",
      "application/vnd.kubernetes.protobuf;stream=watch",
      // kubectl get: Table first, plain JSON as the fallback.
      "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
      "application/json;unknown=param",
      "application/json;q=0",
    ]) {
      assert.equal(outputNegotiable(accept), true, String(accept));
    }
  });

  it("refuses conversions, other streams, a server version and types it has no serializer for", () => {
    for (const accept of [
      "application/json;as=Table;v=v1;g=meta.k8s.io",
      "application/json;as=PartialObjectMetadata",
      "application/json;g=meta.k8s.io",
      "application/yaml;stream=watch",
      "application/json;stream=other",
      "application/json;sv=v1",
      "text/html",
      "application/cbor",
      "application/JSON",
      "application",
      "application/json/extra",
    ]) {
      assert.equal(outputNegotiable(accept), false, accept);
    }
  });
});
