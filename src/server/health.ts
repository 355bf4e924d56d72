// The health and metrics port: plain HTTP, no token, so kubelet probes and Prometheus need no
// credentials (the incident had to fall back to TCP probes because the authenticating port
// answers 401). /readyz fails until every issuer's discovery succeeded and during shutdown.
//
// An issuer that becomes unreachable after discovery does NOT make the gateway unready: its
// cached keys keep verifying every token signed with a key it had published, exactly as
// kube-apiserver keeps go-oidc's cached key set and its JWT authenticator's health check only
// reports "not initialized" before the first successful discovery
// (k8s.io/apiserver plugin/pkg/authenticator/token/oidc/oidc.go `HealthCheck`). Turning such an
// outage into 503 would take every replica out of its Service at once and refuse tokens the
// gateway can still verify. Instead /readyz stays 200 and says "degraded" in its body, the
// log says so once, and the gauge kube_oidc_gateway_issuer_keys_unreachable{issuer} is 1
// until a key fetch succeeds again (the gateway retries it every 10 s).
//
// Missing impersonation rights (src/server/impersonation-rights.ts) are degraded too, not
// unready: the gateway leaves out the extras it may not impersonate and keeps serving, so
// /readyz stays 200 and names the ClusterRole rule to add.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { LabelledGauge } from "../observability/metrics.ts";

export interface HealthOptions {
  /** Reasons the gateway is not ready; empty when ready. */
  readonly notReady: () => string[] | Promise<string[]>;
  /** Conditions that do not make the gateway unready but an operator should see; empty when none. */
  readonly degraded?: () => string[] | Promise<string[]>;
  readonly metrics: () => string | Promise<string>;
}

/** Which issuers' key fetches are failing since when, from the authenticator's key events. */
export class IssuerKeyStatus {
  readonly #failing = new Map<string, { since: Date; error: string }>();
  readonly #gauge: LabelledGauge;

  constructor(gauge: LabelledGauge) {
    this.#gauge = gauge;
  }

  /** Records a fetch; returns the change it makes, if any. */
  record(issuer: string, ok: boolean, error?: Error): "unreachable" | "recovered" | undefined {
    this.#gauge.set({ issuer }, ok ? 0 : 1);
    const failing = this.#failing.get(issuer);
    if (ok) {
      if (!failing) return undefined;
      this.#failing.delete(issuer);
      return "recovered";
    }
    this.#failing.set(issuer, { since: failing?.since ?? new Date(), error: error?.message ?? "unknown error" });
    return failing ? undefined : "unreachable";
  }

  degraded(): string[] {
    return [...this.#failing].map(
      ([issuer, { since, error }]) =>
        `issuer ${issuer}: keys unreachable since ${since.toISOString()} (${error}); cached keys still verify tokens`,
    );
  }
}

export class HealthServer {
  readonly #server: http.Server;

  constructor(options: HealthOptions) {
    this.#server = http.createServer((req, res) => {
      const text = (status: number, body: string, type = "text/plain; charset=utf-8") => {
        if (res.headersSent) return;
        res.writeHead(status, { "content-type": type, "cache-control": "no-cache" });
        res.end(body);
      };
      HealthServer.#answer(req, options, text).catch((error: unknown) =>
        text(500, `health check failed: ${(error as Error)?.message}\n`),
      );
    });
  }

  static async #answer(
    req: http.IncomingMessage,
    options: HealthOptions,
    text: (status: number, body: string, type?: string) => void,
  ): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") return text(405, "method not allowed\n");
    switch (path) {
      case "/livez":
      case "/healthz":
        return text(200, "ok\n");
      case "/readyz":
      case "/ready": {
        const reasons = await options.notReady();
        if (reasons.length > 0) return text(503, `not ready:\n${reasons.map((r) => `- ${r}`).join("\n")}\n`);
        const degraded = (await options.degraded?.()) ?? [];
        return degraded.length === 0
          ? text(200, "ok\n")
          : text(200, `ok, degraded:\n${degraded.map((r) => `- ${r}`).join("\n")}\n`);
      }
      case "/metrics":
        return text(200, await options.metrics(), "text/plain; version=0.0.4; charset=utf-8");
      default:
        return text(404, "not found: try /livez, /readyz or /metrics\n");
    }
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, host, () => resolve(this.#server.address() as AddressInfo));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.closeAllConnections();
      this.#server.close(() => resolve());
    });
  }
}
