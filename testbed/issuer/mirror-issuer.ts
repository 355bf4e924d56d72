// More issuers for one test bed: an HTTPS server (its own CA) that serves, under one path per
// name, the bed's oidc-provider's discovery document with `issuer` rewritten to
// `<base>/<name>`. go-oidc (and the gateway) require the document's issuer to equal the
// configured URL even with a discoveryURL, so a second issuer needs a document of its own; the
// jwks_uri still names oidc-provider's keys, so tokens the raw signer mints verify under every
// name. A configuration's certificateAuthority for these issuers is `caBundle(bedCaPem)`.
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { TestCA } from "../ca.ts";
import { httpsRequest } from "../http.ts";

export interface MirrorIssuers {
  /** `<base>/<name>` for each name, in order. */
  readonly urls: readonly string[];
  /** The mirror's CA and the bed's, for an issuer's certificateAuthority. */
  caBundle(bedCaPem: string): string;
  /** Points the mirror at the bed's issuer (before kube-apiserver or the gateway ask it). */
  follow(issuerUrl: string, caPem: string): void;
  close(): Promise<void>;
}

export async function startMirrorIssuers(names: readonly string[]): Promise<MirrorIssuers> {
  const ca = await TestCA.create("kube-oidc-gateway mirror issuer CA");
  const tls = await ca.issueLoopbackServer("mirror-issuer");
  let target: { issuerUrl: string; caPem: string } | undefined;
  let base = "";
  const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const name = names.find((n) => req.url === `/${n}/.well-known/openid-configuration`);
    if (!name || !target) {
      res.writeHead(404).end();
      return;
    }
    const { issuerUrl, caPem } = target;
    httpsRequest(`${issuerUrl}/.well-known/openid-configuration`, { ca: caPem })
      .then((response) => {
        const document = { ...JSON.parse(response.body), issuer: `${base}/${name}` };
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(document));
      })
      .catch(() => res.writeHead(502).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    urls: names.map((name) => `${base}/${name}`),
    caBundle: (bedCaPem) => `${ca.certPem.trim()}\n${bedCaPem.trim()}\n`,
    follow: (issuerUrl, caPem) => {
      target = { issuerUrl, caPem };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
