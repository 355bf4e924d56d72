import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../../config/errors.ts";
import type { FlagValue } from "../../config/flags.ts";
import { formatFlagHelp, unknownEnvironment } from "../../config/flags.ts";
import { loadServeConfig, type ServeConfig } from "../../config/serve-config.ts";
import { serveFlags } from "../../config/serve-flags.ts";
import { packageVersion } from "../../observability/build.ts";
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

It accepts kube-apiserver's --oidc-* flags and every flag of kube-oidc-proxy v0.3.0, so a
kube-oidc-proxy Deployment can switch images and keep its command and arguments: run as
kube-oidc-proxy (an executable of that name ships with the package and the image), or with flags
and no command, serve takes kube-oidc-proxy's defaults (--secure-port=6443,
--cert-dir=/var/run/kubernetes). Flags that mean nothing here are named in a start-up log line.
The image runs as a
non-root user: a port below 1024 (kube-oidc-proxy's manifests use 443) needs the pod sysctl
net.ipv4.ip_unprivileged_port_start. Differences on purpose, as in kube-apiserver: an empty
--oidc-username-prefix means "<issuer-url>#" (unless the claim is email), where kube-oidc-proxy
applied no prefix, and "-" means no prefix, where kube-oidc-proxy prefixed a literal "-". Pass
--oidc-username-prefix=- for none.

Every flag can also be set as an environment variable (shown in brackets) or as a key in the
--config file; flags win over the environment, which wins over the file.

Example:
  kube-oidc-gateway serve \\
    --oidc-issuer-url=https://keycloak.example.com/realms/kube --oidc-client-id=kubernetes \\
    --oidc-username-claim=preferred_username --oidc-username-prefix=oidc: \\
    --oidc-groups-claim=groups --oidc-groups-prefix=oidc: \\
    --tls-cert-file=/tls/tls.crt --tls-private-key-file=/tls/tls.key --secure-port=8443

${formatFlagHelp(serveFlags)}`;

/** How `serve` was invoked: as itself, or as kube-oidc-proxy (its executable, or flags first). */
export interface ServeProfile {
  /** The name errors are reported under and workers are started with. */
  readonly name: "serve" | "kube-oidc-proxy";
  /** Defaults that differ from serve's (below the config file, environment and flags). */
  readonly defaults: Readonly<Record<string, FlagValue>>;
}

const serveProfile: ServeProfile = { name: "serve", defaults: {} };

// kube-oidc-proxy v0.3.0 cmd/app/options/serving.go (NewSecureServingOptions): port 6443, and
// self-signed certificates under /var/run/kubernetes when no --tls-cert-file is given.
export const kubeOidcProxyProfile: ServeProfile = {
  name: "kube-oidc-proxy",
  defaults: { "secure-port": 6443, "cert-dir": "/var/run/kubernetes" },
};

/**
 * kube-oidc-proxy's manifests bind 443, and the image runs as the non-root user 1000: the kernel
 * refuses ports below net.ipv4.ip_unprivileged_port_start (1024 unless the runtime lowers it).
 * Node's listen error names the port; the advice names the flag that set it.
 */
function privilegedPortAdvice(error: unknown, config: ServeConfig): string {
  const { code, syscall, port } = error as NodeJS.ErrnoException & { port?: number };
  if (code !== "EACCES" || syscall !== "listen" || port === undefined || port >= 1024) return "";
  const flag =
    port === config.serving.apiPort
      ? "--api-port"
      : port === config.serving.healthPort
        ? "--health-port"
        : "--secure-port";
  const example = flag === "--health-port" ? 8080 : flag === "--api-port" ? 8444 : 8443;
  return (
    `\nPort ${port} (${flag}) is privileged and this process (uid ${process.getuid?.() ?? "?"}) may not bind it. ` +
    `Either listen on a port from 1024 (e.g. ${flag}=${example}, with the Service's targetPort) or let the pod bind ` +
    `low ports: securityContext.sysctls [{name: net.ipv4.ip_unprivileged_port_start, value: "0"}] ` +
    `(a safe sysctl since Kubernetes 1.22). Adding the NET_BIND_SERVICE capability does not help a non-root user.`
  );
}

const version = packageVersion;

/** Runs serve with `args`; `profile` picks kube-oidc-proxy's defaults when invoked as it. */
export async function runServe(args: readonly string[], profile: ServeProfile = serveProfile): Promise<number> {
  const prefix = profile.name === "serve" ? "kube-oidc-gateway serve" : "kube-oidc-proxy (kube-oidc-gateway)";
  let loaded: ReturnType<typeof loadServeConfig>;
  try {
    loaded = loadServeConfig(args, process.env, profile.defaults);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${prefix}: ${error.message}\nRun 'kube-oidc-gateway serve --help' for the flags.\n`);
    return 2;
  }
  if (loaded.version) {
    process.stdout.write(`kube-oidc-gateway ${version()}\n`);
    return 0;
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
  if (worker === undefined) {
    // The start-up line: what runs (version, Node, the effective configuration with where each
    // value came from, secrets redacted), then one line per flag that was set and means nothing
    // here (kube-oidc-proxy's and klog's), from the first process only.
    const logger = createLogger(config.logLevel, undefined, undefined, config.logFormat);
    logger.info("starting", {
      version: version(),
      node: process.version,
      pid: process.pid,
      ...(profile.name === "serve" ? {} : { as: profile.name }),
      config: config.effective,
    });
    for (const { flag, reason } of config.ignoredFlags) logger.warn("flag ignored", { flag: `--${flag}`, reason });
    // A KOG_* variable that sets nothing is most likely a typo of one that would have.
    for (const unknown of unknownEnvironment(serveFlags, process.env)) {
      logger.warn("environment variable ignored", {
        variable: unknown.variable,
        ...(unknown.closest ? { closest: unknown.closest } : {}),
        reason: unknown.message,
      });
    }
  }
  if (config.workers > 1 && worker === undefined) {
    // The CLI entry (main.ts next to this folder, .ts or .js as this file) runs again in each worker.
    const exec = fileURLToPath(new URL(`../main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
    try {
      return await runPrimary({
        config,
        exec,
        args: [profile.name, ...args],
        logger: createLogger(config.logLevel, undefined, { worker: 0 }, config.logFormat),
        stopSignal,
      });
    } catch (error) {
      // The primary binds the health port itself: its listen errors get the same words.
      process.stderr.write(`${prefix}: ${(error as Error).message}${privilegedPortAdvice(error, config)}\n`);
      return 1;
    }
  }
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    const starting =
      worker === undefined
        ? startGateway(config)
        : startGateway(config, {
            logger: createLogger(config.logLevel, undefined, { worker }, config.logFormat),
            healthServedElsewhere: true,
            worker,
          });
    // Start-up can wait for good on a dependency that is not there yet (a Redis Sentinel or
    // Cluster store is retried until it answers): SIGTERM then must still stop the process, or
    // the kubelet waits out the grace period and kills it.
    const started = await Promise.race([starting, stopSignal.then(() => undefined)]);
    if (started === undefined) {
      starting.then((late) => late.stop()).catch(() => {});
      process.stderr.write(`${prefix}: stopped before it was ready (SIGTERM or SIGINT during start-up)\n`);
      return 0;
    }
    gateway = started;
  } catch (error) {
    // A setting that turns out wrong only when used (a certificate file that is not there, a key
    // that does not match its certificate) is a configuration error, exit 2 like the others.
    if (error instanceof ConfigError) {
      process.stderr.write(`${prefix}: ${error.message}\nRun 'kube-oidc-gateway serve --help' for the flags.\n`);
      return 2;
    }
    process.stderr.write(`${prefix}: ${(error as Error).message}${privilegedPortAdvice(error, config)}\n`);
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
  run: (args) => runServe(args),
};
