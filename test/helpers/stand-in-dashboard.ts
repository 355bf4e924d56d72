// A stand-in for a dashboard behind the gateway (what Headlamp's or Kubeapps' front end does,
// reduced to the part under test): a page that keeps calling the Kubernetes API through the
// gateway's session and holds a watch over WebSocket, counting every answer in window.stats;
// and a record of the headers the dashboard received (Authorization from the gateway, cookies).
// It stands in for a real dashboard because neither Headlamp nor Kubeapps can be built here.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

const page = (
  apiPrefix: string,
) => `<!doctype html><html><head><meta charset="utf-8"><title>stand-in dashboard</title></head>
<body><h1>stand-in dashboard</h1><pre id="stats"></pre><script>
const stats = { ok: 0, unauthorized: 0, other: 0, errors: 0, statuses: {}, wsOpen: false, wsEvents: 0, wsNames: [], wsClosed: null };
window.stats = stats;
async function poll() {
  try {
    const r = await fetch("${apiPrefix}/api/v1/namespaces/default/configmaps", { headers: { accept: "application/json" } });
    stats.statuses[r.status] = (stats.statuses[r.status] || 0) + 1;
    if (r.status === 200) stats.ok++; else if (r.status === 401) stats.unauthorized++; else stats.other++;
  } catch (e) { stats.errors++; }
  document.getElementById("stats").textContent = JSON.stringify(stats, null, 1);
}
setInterval(poll, 2000); poll();
const ws = new WebSocket("wss://" + location.host + "${apiPrefix}/api/v1/namespaces/default/configmaps?watch=true");
ws.onopen = () => { stats.wsOpen = true; };
ws.onmessage = async (m) => {
  const text = typeof m.data === "string" ? m.data : await m.data.text();
  stats.wsEvents++;
  const event = JSON.parse(text);
  if (event.type === "ADDED") stats.wsNames.push(event.object.metadata.name);
};
ws.onclose = (e) => { stats.wsClosed = { code: e.code, at: Date.now() }; };
</script></body></html>`;

export interface StandInDashboard {
  readonly url: string;
  /** Headers of every request the dashboard received, in order. */
  readonly received: { path: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

export async function startStandInDashboard(apiPrefix: string): Promise<StandInDashboard> {
  const received: StandInDashboard["received"] = [];
  const server: Server = createServer((req, res) => {
    received.push({ path: req.url ?? "/", headers: req.headers });
    if (req.url === "/" || req.url?.startsWith("/?")) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(page(apiPrefix));
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
