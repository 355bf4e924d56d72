import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../../config/errors.ts";
import { formatFlagHelp } from "../../config/flags.ts";
import { loadServeConfig } from "../../config/serve-config.ts";
import { serveFlags } from "../../config/serve-flags.ts";
import { createLogger } from "../../observability/logger.ts";
import { startGateway } from "../../server/gateway.ts";
import { reportToPrimary, runPrimary, workerIndex } from "../../server/workers.ts";
import type { Command } from "../command.ts";

const help = `Usage: kube-oidc-gateway serve [flags]

Runs the gateway: an HTTPS reverse proxy for the Kubernetes API that validates OIDC id tokens
exactly as kube-apiserver would and forwards each request under its own credentials with
Impersonate-* headers, so the cluster's API server needs no OIDC configuration. Watches stream,
exec/attach/port-forward upgrades (SPDY and WebSocket) pass through, and every error is a
Kubernetes Status object that kubectl understands.

It accepts kube-apiserver's --oidc-* flags and kube-oidc-proxy's serving flags, so a
kube-oidc-proxy Deployment can switch images and keep its arguments. One difference on purpose:
an empty --oidc-username-prefix means "<issuer-url>#" (unless the claim is email), as in
kube-apiserver; kube-oidc-proxy applied no prefix. Pass --oidc-username-prefix=- for none.

Every flag can also be set as an environment variable (shown in brackets) or as a key in the
--config file; flags win over the environment, which wins over the file.

Example:
  kube-oidc-gateway serve \\
    --oidc-issuer-url=https://keycloak.example.com/realms/kube --oidc-client-id=kubernetes \\
    --oidc-username-claim=preferred_username --oidc-username-prefix=oidc: \\
    --oidc-groups-claim=groups --oidc-groups-prefix=oidc: \\
    --tls-cert-file=/tls/tls.crt --tls-private-key-file=/tls/tls.key --secure-port=8443

${formatFlagHelp(serveFlags)}`;

async function run(args: readonly string[]): Promise<number> {
  let loaded: ReturnType<typeof loadServeConfig>;
  try {
    loaded = loadServeConfig(args, process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(
      `kube-oidc-gateway serve: ${error.message}\nRun 'kube-oidc-gateway serve --help' for the flags.\n`,
    );
    return 2;
  }
  if (loaded.help || !loaded.config) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const config = loaded.config;
  const stopSignal = new Promise<void>((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
  const worker = workerIndex();
  if (config.workers > 1 && worker === undefined) {
    // The CLI entry (main.ts next to this folder, .ts or .js as this file) runs again in each worker.
    const exec = fileURLToPath(new URL(`../main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
    return runPrimary({
      config,
      exec,
      args: ["serve", ...args],
      logger: createLogger(config.logLevel, undefined, { worker: 0 }),
      stopSignal,
    });
  }
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway =
      worker === undefined
        ? await startGateway(config)
        : await startGateway(config, {
            logger: createLogger(config.logLevel, undefined, { worker }),
            healthServedElsewhere: true,
          });
  } catch (error) {
    process.stderr.write(`kube-oidc-gateway serve: ${(error as Error).message}\n`);
    return 1;
  }
  if (worker !== undefined) {
    reportToPrimary(gateway);
    // Without its primary a worker cannot be supervised or receive connections: it stops too.
    process.once("disconnect", () => process.emit("SIGTERM"));
  }
  await stopSignal;
  await gateway.stop();
  return 0;
}

export const serve: Command = {
  name: "serve",
  summary: "run the authenticating, impersonating gateway to the Kubernetes API",
  help,
  run,
};
