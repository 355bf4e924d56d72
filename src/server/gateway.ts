// `serve`, composed: configuration in, a running gateway out. Reads top to bottom:
// logger and metrics → audit policy and backends → upstream credentials → authenticator
// (discovery starts) → request pipeline → client listener and health listener → graceful stop.
import type { ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { withholdExtras } from "../apiserver/impersonation-headers.ts";
import { Authenticator } from "../authn/authenticator.ts";
import { ReloadingAuthenticator } from "../authn/reloading-authenticator.ts";
import { TokenReviewer } from "../authn/token-review.ts";
import type { ServeConfig } from "../config/serve-config.ts";
import { AccessLog } from "../observability/access-log.ts";
import { createLogger, type Logger } from "../observability/logger.ts";
import { createMetrics, type Metrics } from "../observability/metrics.ts";
import { ApiProxy } from "../proxy/api-proxy.ts";
import { ImpersonationAuthorizer } from "../proxy/nested-impersonation.ts";
import { toStatus } from "../proxy/status.ts";
import { Upstream } from "../upstream/cluster.ts";
import { HealthServer, IssuerKeyStatus } from "./health.ts";
import { ImpersonationRightsCheck, neededImpersonationRights } from "./impersonation-rights.ts";
import { certDirServingPair, TlsListener, type TlsListenerOptions } from "./tls-listener.ts";

/** What the health port reports. */
export interface GatewayHealth {
  /** Reasons the gateway is not ready; empty when ready. */
  readonly notReady: string[];
  /** Conditions an operator should see that do not make it unready. */
  readonly degraded: string[];
  /** The metrics in the Prometheus text format, when asked for (a readiness probe does not need them). */
  readonly metrics?: string;
}

export interface Gateway {
  readonly address: AddressInfo;
  /** The --api-port listener's address, when it is on. */
  readonly apiAddress: AddressInfo | undefined;
  readonly healthAddress: AddressInfo | undefined;
  readonly metrics: Metrics;
  health(options?: { readonly metrics?: boolean }): GatewayHealth;
  /** Graceful stop: stop accepting, let requests finish (up to the grace period), end streams. */
  stop(): Promise<void>;
}

export interface GatewayDependencies {
  readonly logger?: Logger;
  readonly env?: NodeJS.ProcessEnv;
  /** In-cluster credentials' folder; /var/run/secrets/kubernetes.io/serviceaccount by default. */
  readonly serviceAccountDir?: string;
  /** A worker of several (--workers): the primary process serves the health port for all. */
  readonly healthServedElsewhere?: boolean;
  /** That worker's slot (1 to N): its process metrics carry it as the `worker` label. */
  readonly worker?: number;
}

export async function startGateway(config: ServeConfig, deps: GatewayDependencies = {}): Promise<Gateway> {
  const logger = deps.logger ?? createLogger(config.logLevel, undefined, undefined, config.logFormat);
  const metrics = createMetrics({ runtime: { worker: deps.worker } });

  // Without --tls-cert-file: a self-signed pair in --cert-dir, generated once, then reused.
  const servingPair = config.serving.tlsCertFile
    ? { certFile: config.serving.tlsCertFile, keyFile: config.serving.tlsKeyFile }
    : await certDirServingPair(config.serving.certDir, config.serving.bindAddress);
  if ("generated" in servingPair)
    logger.info(
      servingPair.generated ? "generated a self-signed serving certificate" : "serving the certificate in --cert-dir",
      {
        certFile: servingPair.certFile,
        keyFile: servingPair.keyFile,
      },
    );

  // The audit policy and backends first: a policy file that does not load stops the start before
  // anything else runs. Their code (policy, backends, the YAML library) is loaded only when an
  // --audit-* flag asks for it (config.audit.requested), so a plain serve's idle RSS does not
  // carry it (bench/cli-startup.ts).
  const auditor = config.audit.requested
    ? (await import("../audit/auditor.ts")).createAuditor(config.audit, logger)
    : undefined;

  const upstream = new Upstream({
    kubeconfig: config.upstream.kubeconfig,
    extraCaFile: config.upstream.extraCaFile,
    client: config.upstream.client,
    env: deps.env,
    serviceAccountDir: deps.serviceAccountDir,
    http2: config.upstream.http2,
    // The gauge, and a debug line for each connection the gateway opens or loses to the API server.
    http2ConnectionGauge: {
      inc: () => {
        metrics.upstreamHttp2Connections.inc();
        logger.debug("upstream HTTP/2 connection opened", { open: metrics.upstreamHttp2Connections.value });
      },
      dec: () => {
        metrics.upstreamHttp2Connections.dec();
        logger.debug("upstream HTTP/2 connection closed", { open: metrics.upstreamHttp2Connections.value });
      },
    },
    onHttp1Only: () =>
      logger.warn("the API server does not offer HTTP/2: every request goes over HTTP/1.1, a connection per watch"),
    onTokenReloaded: (file) => logger.info("upstream token reloaded", { file }),
    onTokenReloadFailed: (file, error) => logger.warn("upstream token reload failed", { file, error: error.message }),
  });
  upstream.start();

  // The impersonation rights the configuration needs, asked as the gateway's own credentials;
  // missing extras are left out of requests and named in the log and /readyz.
  const impersonationRights = new ImpersonationRightsCheck({
    rights: neededImpersonationRights(config),
    upstream,
    log: logger,
    withhold: withholdExtras,
  });
  if (config.impersonationCheck.refuseStartWithoutRights) {
    try {
      await impersonationRights.required();
    } catch (error) {
      impersonationRights.stop();
      upstream.close();
      throw error;
    }
  }

  const issuerKeys = new IssuerKeyStatus(metrics.issuerKeysUnreachable);
  const issuerEvents = {
    onDiscovery: (issuer: string, ok: boolean, error?: Error) => {
      metrics.discoveries.inc({ issuer, result: ok ? "success" : "failure" });
      if (ok) logger.info("issuer discovered", { issuer });
      else logger.warn("issuer discovery failed; retrying in 10s", { issuer, error: error?.message });
    },
    onKeysFetched: (issuer: string, ok: boolean, error?: Error) => {
      metrics.jwksFetches.inc({ issuer, result: ok ? "success" : "failure" });
      const change = issuerKeys.record(issuer, ok, error);
      if (change === "unreachable")
        logger.warn("issuer unreachable: JWKS fetch failed; its cached keys keep verifying tokens", {
          issuer,
          error: error?.message,
        });
      else if (change === "recovered") logger.info("issuer reachable again: JWKS fetched", { issuer });
      else if (!ok) logger.debug("JWKS fetch failed again", { issuer, error: error?.message });
    },
  };
  const { jwt, allowSystemIdentities, tokenCacheTtlMs, configFile, configText } = config.authentication;
  const authenticationOptions = { jwt, allowSystemIdentities, tokenCacheTtlMs };
  const authenticator =
    configFile === undefined
      ? new Authenticator({ ...authenticationOptions, events: issuerEvents })
      : new ReloadingAuthenticator({
          ...authenticationOptions,
          events: issuerEvents,
          file: configFile,
          initial: authenticationOptions.jwt,
          initialText: configText ?? "",
          onReload: (ok, error) => {
            metrics.authenticationConfigReloads.inc({ result: ok ? "success" : "failure" });
            if (ok) logger.info("authentication configuration reloaded", { file: configFile });
            else
              logger.error("authentication configuration NOT reloaded; the previous one keeps serving", {
                file: configFile,
                error: error?.message,
              });
          },
        });
  authenticator.start();

  const accessLog = config.accessLog ? new AccessLog(logger, config.accessLog.sampleRate) : undefined;
  const passthrough = config.authentication.passthrough;
  const proxy = new ApiProxy({
    authenticator,
    tokenReviewer: passthrough
      ? new TokenReviewer(upstream, passthrough.audiences, config.authentication.tokenCacheTtlMs)
      : undefined,
    impersonationAuthorizer: config.authentication.nestedImpersonation
      ? new ImpersonationAuthorizer(upstream)
      : undefined,
    auditor,
    upstream,
    logger,
    metrics,
    trustedProxies: config.serving.trustedProxies,
    accessLog,
    responseTimeoutMs: config.upstream.responseTimeoutMs,
    disableImpersonation: config.proxy.disableImpersonation,
    extraUserHeaderClientIp: config.proxy.extraUserHeaderClientIp,
    extraUserHeaders: config.proxy.extraUserHeaders,
  });

  // Browser sessions (optional): a login front before the same pipeline.
  const sessions = config.session
    ? // Loaded only when sessions are on: openid-client and the session code are not needed otherwise.
      await (await import("../session/session-front.ts")).SessionFront.create({
        config: config.session,
        authenticator,
        upstream,
        proxy,
        logger,
        metrics,
        accessLog,
      })
    : undefined;

  let inFlight = 0;
  let stopping = false;
  const listenerOptions = {
    certFile: servingPair.certFile,
    keyFile: servingPair.keyFile,
    tlsMinVersion: config.serving.tlsMinVersion,
    tlsCipherSuites: config.serving.tlsCipherSuites,
    sniCertKeys: config.serving.sniCertKeys,
    http2MaxStreamsPerConnection: config.serving.http2MaxStreamsPerConnection,
    maxHeaderBytes: config.serving.maxHeaderBytes,
    onRefused: (method: string, status: number) => metrics.requests.inc({ method, code: String(status) }),
  };
  /** The request and upgrade handlers of a listener, around the pipeline that serves it. */
  const serve = (
    handler: Pick<ApiProxy, "handleRequest" | "handleUpgrade">,
  ): Pick<TlsListenerOptions, "onRequest" | "onUpgrade"> => ({
    onRequest: (req, res) => {
      inFlight++;
      res.once("close", () => inFlight--);
      // While draining, answer requests that still arrive on open keep-alive connections, and
      // tell HTTP/1.1 clients not to reuse the connection (HTTP/2 clients got GOAWAY).
      if (stopping && req.httpVersionMajor === 1) res.setHeader("connection", "close");
      // The handlers answer their own errors; this is the last line against one that escapes, so
      // it ends one exchange instead of the process (an unhandled rejection would stop Node).
      handler.handleRequest(req, res).catch((error: unknown) => {
        logger.error("request handler failed", { error: (error as Error)?.message });
        if (res.headersSent) return void res.destroy();
        const response = toStatus(error);
        (res as ServerResponse).writeHead(response.status, response.headers);
        res.end(response.body);
      });
    },
    onUpgrade: (req, socket, head) =>
      handler.handleUpgrade(req, socket, head).catch((error: unknown) => {
        logger.error("upgrade handler failed", { error: (error as Error)?.message });
        socket.destroy();
      }),
  });
  const listener = new TlsListener({
    ...listenerOptions,
    ...serve(sessions ?? proxy),
    onReload: (ok, error) => {
      metrics.tlsReloads.inc({ result: ok ? "success" : "failure" });
      if (ok) logger.info("serving certificate reloaded");
      else logger.warn("serving certificate reload failed; keeping the previous one", { error: error?.message });
    },
  });
  const address = await listener.listen(config.serving.securePort, config.serving.bindAddress);
  // --api-port: the API alone, to bearer tokens, at / — what the main port serves without
  // sessions. With a dashboard on the main port, its API is under --session-api-prefix and its
  // other paths are the dashboard's; in-cluster clients (the dashboard's own client-go among them)
  // need the API at / with no login front in the way, and a dashboard's /api/... must stay its own.
  // No session cookie is read here, so cross-site requests carry nothing this port acts on. The
  // same certificate files, reloaded by the main listener's reports (both read the same files).
  const apiListener =
    config.serving.apiPort === 0 ? undefined : new TlsListener({ ...listenerOptions, ...serve(proxy) });
  const apiAddress = await apiListener?.listen(config.serving.apiPort, config.serving.bindAddress).catch((error) => {
    listener.stopAccepting();
    listener.closeAll();
    throw error;
  });

  const notReady = () => [
    ...(stopping ? ["shutting down"] : []),
    ...authenticator.notReady().map((n) => `issuer ${n.issuer}: ${n.reason}`),
    ...(sessions?.notReady() ?? []),
  ];
  const degraded = () => [...issuerKeys.degraded(), ...impersonationRights.degraded()];
  const health = (options?: { readonly metrics?: boolean }): GatewayHealth => ({
    notReady: notReady(),
    degraded: degraded(),
    ...(options?.metrics ? { metrics: metrics.render() } : {}),
  });
  const healthServer =
    config.serving.healthPort === 0 || deps.healthServedElsewhere
      ? undefined
      : new HealthServer({
          notReady,
          degraded,
          metrics: () => metrics.render(),
        });
  const healthAddress = await healthServer?.listen(config.serving.healthPort, config.serving.healthBindAddress);
  const listeners = apiListener ? [listener, apiListener] : [listener];
  logger.info("gateway listening", {
    address: `${address.address}:${address.port}`,
    ...(apiAddress ? { api: `${apiAddress.address}:${apiAddress.port}` } : {}),
    health: healthAddress ? `${healthAddress.address}:${healthAddress.port}` : "off",
    upstream: upstream.url.origin,
  });

  return {
    address,
    apiAddress,
    healthAddress,
    metrics,
    health,
    stop: async () => {
      if (stopping) return;
      stopping = true;
      logger.info("stopping: no new connections; waiting for requests in flight", { inFlight });
      for (const l of listeners) l.stopAccepting();
      for (const l of listeners) l.closeIdle();
      const deadline = Date.now() + config.shutdownGracePeriodMs;
      while (inFlight - proxy.openStreams > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
      }
      for (const l of listeners) l.closeIdle();
      proxy.closeStreams();
      await sessions?.close();
      for (const l of listeners) l.closeAll();
      authenticator.close();
      impersonationRights.stop();
      upstream.close();
      await healthServer?.close();
      // Buffered events are written (or sent) before the process ends.
      await auditor?.backend.shutdown();
      logger.info("stopped");
    },
  };
}
