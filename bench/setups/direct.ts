// direct: the client talks to the upstream itself; the limit every proxy is compared with. On
// the API server the client's OIDC token is validated by kube-apiserver's own JWT authenticator.
import type { Setup } from "./setup.ts";

export function directSetup(urls: { static: string; api: string }): Setup {
  return {
    name: "direct",
    endpoints: { static: { url: urls.static, pids: () => [] }, api: { url: urls.api, pids: () => [] } },
    allPids: () => [],
    description: "no proxy: client to upstream",
    stop: async () => {},
  };
}
