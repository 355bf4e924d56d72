#!/usr/bin/env node
// The kube-oidc-gateway executable (package.json "bin", the image's entrypoint): refuses a Node
// older than the package needs, in one line, then runs the CLI (start.ts; main.ts holds the CLI).
import { start } from "./start.ts";

start("kube-oidc-gateway", []);
