// Label selectors as Kubernetes and Cilium evaluate them.
// Kubernetes: metav1.LabelSelector (k8s.io/apimachinery/pkg/apis/meta/v1/helpers.go,
// LabelSelectorAsSelector): matchLabels AND matchExpressions with In, NotIn, Exists,
// DoesNotExist; an empty selector matches everything.
// Cilium: the same shape, but keys may carry a source prefix (`k8s:app`, `any:app`) and the
// pod's namespace is the label `io.kubernetes.pod.namespace`
// (https://docs.cilium.io/en/stable/security/policy/kubernetes/#namespaces).
import { asArray, asRecord, asString, type Json, stringMap } from "./objects.ts";

export type Labels = Readonly<Record<string, string>>;

/** Whether `selector` (a LabelSelector object) selects `labels`. */
export function selectorMatches(selector: unknown, labels: Labels, normalizeKey = (key: string) => key): boolean {
  const body = asRecord(selector);
  for (const [key, value] of Object.entries(stringMap(body.matchLabels))) {
    if (labels[normalizeKey(key)] !== value) return false;
  }
  for (const entry of asArray(body.matchExpressions)) {
    const expression = asRecord(entry);
    const key = normalizeKey(asString(expression.key) ?? "");
    const values = asArray(expression.values).map((v) => asString(v));
    const present = Object.hasOwn(labels, key);
    switch (asString(expression.operator)) {
      case "In":
        if (!present || !values.includes(labels[key])) return false;
        break;
      case "NotIn":
        if (present && values.includes(labels[key])) return false;
        break;
      case "Exists":
        if (!present) return false;
        break;
      case "DoesNotExist":
        if (present) return false;
        break;
      default:
        // An operator Kubernetes would reject: select nothing rather than guess.
        return false;
    }
  }
  return true;
}

/** Cilium label keys without their source prefix: `k8s:app` and `any:app` both mean `app`. */
export function ciliumKey(key: string): string {
  return key.replace(/^(k8s|any):/, "");
}

export const ciliumNamespaceLabel = "io.kubernetes.pod.namespace";

/** Whether a Cilium endpoint selector names the namespace itself (else the policy's applies). */
export function ciliumSelectsNamespace(selector: Json): boolean {
  const keys = [
    ...Object.keys(stringMap(selector.matchLabels)),
    ...asArray(selector.matchExpressions).map((e) => asString(asRecord(e).key) ?? ""),
  ];
  return keys.map(ciliumKey).some((key) => key === ciliumNamespaceLabel || key.startsWith("io.cilium.k8s.namespace."));
}

/** Whether a plain `key: value` map (a Service's selector) is satisfied by `labels`. */
export function mapSelects(selector: Labels, labels: Labels): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}
