// Logs a bed user in through the gateway's own login endpoints and the bed's oidc-provider,
// following redirects as a browser would but without one (the browser tests use Chromium and
// Keycloak; this drives the same endpoints in a second, for the fast session tests).
import { type HttpResponse, httpsRequest } from "../../testbed/http.ts";

export interface GatewayLogin {
  /** `name=value` of the session cookie. */
  readonly cookie: string;
  /** The gateway's answer at the callback (a redirect to the return path). */
  readonly callback: HttpResponse;
}

const setCookies = (response: HttpResponse): string[] => {
  const value = response.headers["set-cookie"];
  return Array.isArray(value) ? value : value ? [value] : [];
};
const pairsOf = (response: HttpResponse) => setCookies(response).map((line) => line.split(";")[0] ?? "");

function locationOf(response: HttpResponse, base: string): URL {
  const value = response.headers.location;
  if (typeof value !== "string")
    throw new Error(`expected a redirect, got HTTP ${response.status}: ${response.body.slice(0, 300)}`);
  return new URL(value, base);
}

export async function loginThroughGateway(options: {
  gatewayUrl: string;
  issuerUrl: string;
  ca: string;
  username: string;
  password: string;
  returnPath?: string;
}): Promise<GatewayLogin> {
  const { gatewayUrl, issuerUrl, ca } = options;
  const start = await httpsRequest(`${gatewayUrl}/oauth2/start?rd=${encodeURIComponent(options.returnPath ?? "/")}`, {
    ca,
    headers: { "sec-fetch-mode": "navigate" },
  });
  const gatewayCookies = pairsOf(start);
  const issuerCookies = new Map<string, string>();
  const issuerGet = async (url: URL) => {
    const response = await httpsRequest(url, {
      ca,
      headers: { cookie: [...issuerCookies].map(([k, v]) => `${k}=${v}`).join("; ") },
    });
    for (const pair of pairsOf(response)) {
      const eq = pair.indexOf("=");
      issuerCookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return response;
  };
  const interaction = locationOf(await issuerGet(locationOf(start, gatewayUrl)), issuerUrl);
  const login = await httpsRequest(new URL(`${interaction.pathname}/login`, issuerUrl), {
    method: "POST",
    ca,
    headers: {
      cookie: [...issuerCookies].map(([k, v]) => `${k}=${v}`).join("; "),
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ username: options.username, password: options.password }).toString(),
  });
  let next = locationOf(login, issuerUrl);
  for (let hop = 0; !next.href.startsWith(`${gatewayUrl}/oauth2/callback`); hop++) {
    if (hop > 5) throw new Error(`too many redirects before the gateway's callback (last: ${next.href})`);
    next = locationOf(await issuerGet(next), issuerUrl);
  }
  const callback = await httpsRequest(next, {
    ca,
    headers: { cookie: gatewayCookies.join("; "), "sec-fetch-mode": "navigate" },
  });
  const cookie = pairsOf(callback).find((pair) => pair.startsWith("__Host-kog-session=") && pair.length > 20) ?? "";
  return { cookie, callback };
}
