// RBAC that several tests grant: reading ConfigMaps in `default`, bound to given subjects.

export type RbacSubject =
  | { readonly kind: "User" | "Group"; readonly name: string }
  | { readonly kind: "ServiceAccount"; readonly name: string; readonly namespace: string };

const subjectYaml = (s: RbacSubject) =>
  s.kind === "ServiceAccount"
    ? `- {kind: ServiceAccount, name: ${JSON.stringify(s.name)}, namespace: ${s.namespace}}`
    : `- {apiGroup: rbac.authorization.k8s.io, kind: ${s.kind}, name: ${JSON.stringify(s.name)}}`;

/** A Role `configmap-reader` in `default` with `verbs` on ConfigMaps, and RoleBinding `binding` of it. */
export function configMapReaderRbac(
  binding: string,
  subjects: readonly RbacSubject[],
  verbs = ["get", "list"],
): string {
  return `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: configmap-reader, namespace: default}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [${verbs.join(", ")}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ${binding}, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: configmap-reader}
subjects:
${subjects.map(subjectYaml).join("\n")}
`;
}
