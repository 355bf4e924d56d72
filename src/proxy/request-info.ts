// What kube-apiserver's authorizer sees of a request: verb, API group and version, resource,
// subresource, namespace and name, or a non-resource path (k8s.io/apiserver
// pkg/endpoints/request/requestinfo.go, RequestInfoFactory.NewRequestInfo). Nested
// impersonation needs it for the impersonate-on:<mode>:<verb> checks of constrained impersonation.

export type RequestAttributes =
  | {
      readonly resourceRequest: true;
      readonly verb: string;
      readonly group: string;
      readonly version: string;
      readonly resource: string;
      readonly subresource: string;
      readonly namespace: string;
      readonly name: string;
    }
  | { readonly resourceRequest: false; readonly verb: string; readonly path: string };

const specialVerbs = new Set(["proxy", "watch"]);
const namespaceSubresources = new Set(["status", "finalize"]);
const methodVerbs: Record<string, string> = {
  POST: "create",
  GET: "get",
  HEAD: "get",
  PUT: "update",
  PATCH: "patch",
  DELETE: "delete",
};

export function requestAttributes(method: string, url: string): RequestAttributes {
  const query = url.indexOf("?");
  const path = query === -1 ? url : url.slice(0, query);
  const params = new URLSearchParams(query === -1 ? "" : url.slice(query + 1));
  const nonResource = { resourceRequest: false as const, verb: method.toLowerCase(), path };
  let parts = path.split("/").filter((p) => p !== "");
  if (parts.length < 3 || (parts[0] !== "api" && parts[0] !== "apis")) return nonResource;
  const prefix = parts[0];
  parts = parts.slice(1);
  let group = "";
  if (prefix === "apis") {
    if (parts.length < 3) return nonResource;
    group = parts[0] ?? "";
    parts = parts.slice(1);
  }
  const version = parts[0] ?? "";
  parts = parts.slice(1);
  let verb: string;
  if (specialVerbs.has(parts[0] ?? "")) {
    if (parts.length < 2) return nonResource;
    verb = parts[0] ?? "";
    parts = parts.slice(1);
  } else {
    verb = methodVerbs[method] ?? "";
  }
  let namespace = "";
  if (parts[0] === "namespaces" && parts.length > 1) {
    namespace = parts[1] ?? "";
    if (parts.length > 2 && !namespaceSubresources.has(parts[2] ?? "")) parts = parts.slice(2);
  }
  const resource = parts[0] ?? "";
  let name = parts.length >= 2 ? (parts[1] ?? "") : "";
  const subresource = parts.length >= 3 && verb !== "proxy" ? (parts[2] ?? "") : "";
  if (name === "" && verb === "get") {
    verb = ["true", "1"].includes(params.get("watch") ?? "") ? "watch" : "list";
    // A field selector on metadata.name names the object (requestinfo.go).
    const match = /(?:^|,)metadata\.name==?([^,]+)(?:,|$)/.exec(params.get("fieldSelector") ?? "");
    if (match?.[1] && !/[/%]/.test(match[1]) && match[1] !== "." && match[1] !== "..") name = match[1];
  }
  if (name === "" && verb === "delete") verb = "deletecollection";
  return { resourceRequest: true, verb, group, version, resource, subresource, namespace, name };
}
