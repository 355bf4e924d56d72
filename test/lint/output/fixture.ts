// One report shared by the output tests: the incident's broken network policies, linted from
// their fixture files, plus a binding whose subject makes an awkward message for escaping: XML
// markup and a CDATA end (`<&>]]>`), a terminal escape (ESC ] … BEL) and a bidi override
// (U+202E), in a file whose name holds '#', a space and markup.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { lintSources } from "../../../src/lint/lint.ts";
import { fixtures } from "../helpers.ts";

export const brokenPolicies = [
  join(fixtures, "incident", "broken", "netpol-service-port", "headlamp-networkpolicy.yaml"),
  join(fixtures, "incident", "broken", "netpol-service-port", "kube-oidc-proxy-networkpolicy.yaml"),
  join(fixtures, "incident", "fixed", "kube-oidc-proxy.yaml"),
];

/** Where the awkward finding is said to be: relative, as a user would name it. */
export const awkwardFile = "rendered/we#ird <&> file.yaml";

/** The subject name as YAML reads it, and as text output must show it. */
export const awkwardName = "jane\u001b]8;;x\u0007<&>]]>\u202e";
export const awkwardNameEscaped = "jane\\x1b]8;;x\\x07<&>]]>\\u202e";

const awkwardText = `apiVersion: apps/v1
kind: Deployment
metadata: {name: gw, namespace: auth}
spec:
  selector: {matchLabels: {app: gw}}
  template:
    metadata: {labels: {app: gw}}
    spec:
      containers:
        - name: gateway
          image: ghcr.io/example/kube-oidc-gateway:0.1.0
          args: [serve, --oidc-issuer-url=https://issuer.example.com, "--oidc-username-prefix=oidc:"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: awkward}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
  - {kind: User, name: "jane\\e]8;;x\\a<&>]]>\\u202E"}
`;

export const report = lintSources([
  ...brokenPolicies.map((file) => ({ file, text: readFileSync(file, "utf8") })),
  { file: awkwardFile, text: awkwardText },
]);
