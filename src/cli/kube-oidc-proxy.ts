#!/usr/bin/env node
// The kube-oidc-proxy executable: kube-oidc-proxy's manifests run `command: ["kube-oidc-proxy"]`
// with its flags, so the image and the npm package carry one that runs serve with
// kube-oidc-proxy v0.3.0's defaults (see kubeOidcProxyProfile in commands/serve.ts).
import { main } from "./main.ts";

// Every argument is a flag of serve's (kube-oidc-proxy has no subcommands): --help and --version
// are serve's too.
process.exit(await main(["kube-oidc-proxy", ...process.argv.slice(2)]));
