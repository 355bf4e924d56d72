#!/usr/bin/env node
// The kube-oidc-proxy executable: kube-oidc-proxy's manifests run `command: ["kube-oidc-proxy"]`
// with its flags, so the image and the npm package carry one that runs serve with
// kube-oidc-proxy v0.3.0's defaults (see kubeOidcProxyProfile in commands/serve.ts). Like
// kube-oidc-gateway.ts, it refuses a Node older than the package needs first (start.ts).
import { start } from "./start.ts";

// Every argument is a flag of serve's (kube-oidc-proxy has no subcommands): --help and --version
// are serve's too.
start("kube-oidc-proxy", ["kube-oidc-proxy"]);
