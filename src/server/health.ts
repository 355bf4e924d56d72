// The health and metrics port: plain HTTP, no token, so kubelet probes and Prometheus need no
// credentials (the incident had to fall back to TCP probes because the authenticating port
// answers 401). /readyz fails until every issuer's discovery succeeded and during shutdown.
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface HealthOptions {
  /** Reasons the gateway is not ready; empty when ready. */
  readonly notReady: () => string[];
  readonly metrics: () => string;
}

export class HealthServer {
  readonly #server: http.Server;

  constructor(options: HealthOptions) {
    this.#server = http.createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      const text = (status: number, body: string, type = "text/plain; charset=utf-8") => {
        res.writeHead(status, { "content-type": type, "cache-control": "no-cache" });
        res.end(body);
      };
      if (req.method !== "GET" && req.method !== "HEAD") return text(405, "method not allowed\n");
      switch (path) {
        case "/livez":
        case "/healthz":
          return text(200, "ok\n");
        case "/readyz":
        case "/ready": {
          const reasons = options.notReady();
          return reasons.length === 0
            ? text(200, "ok\n")
            : text(503, `not ready:\n${reasons.map((r) => `- ${r}`).join("\n")}\n`);
        }
        case "/metrics":
          return text(200, options.metrics(), "text/plain; version=0.0.4; charset=utf-8");
        default:
          return text(404, "not found: try /livez, /readyz or /metrics\n");
      }
    });
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
