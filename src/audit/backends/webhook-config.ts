// The audit webhook's kubeconfig (--audit-webhook-config-file), read as kube-apiserver reads it:
// k8s.io/apiserver@v0.37.2 pkg/util/webhook/webhook.go LoadKubeconfig through client-go's
// clientcmd: the current context's cluster (server, certificate-authority[-data],
// tls-server-name) and user (client-certificate[-data] with client-key[-data], token, tokenFile,
// username/password), files relative to the kubeconfig's folder.
//
// Refused at start, where kube-apiserver would accept them: insecure-skip-tls-verify (the gateway
// never turns verification off, as for its own upstream in src/upstream/cluster.ts), exec and
// auth-provider users (a program that may prompt or expire must not decide whether audit events
// are delivered), and proxy-url (not supported).
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { ConfigError } from "../../config/errors.ts";

export interface WebhookTarget {
  readonly url: URL;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly servername?: string;
  readonly token?: string;
  /**
   * Preferred to `token` when both are given and the file can be read (client-go's
   * bearerAuthRoundTripper); read at every request, where client-go caches it for a minute, so a
   * rotated token is picked up sooner.
   */
  readonly tokenFile?: string;
  readonly basic?: { readonly username: string; readonly password: string };
}

type Entry = Record<string, unknown>;
type Named = { name?: unknown } & Entry;

const flag = "--audit-webhook-config-file";

function fail(path: string, message: string): never {
  throw new ConfigError("AUDIT_WEBHOOK_CONFIG_INVALID", `${flag} ${path}: ${message}`);
}

function readText(path: string, what: string, configPath: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    return fail(configPath, `${what} ${path}: ${(error as Error).message}`);
  }
}

function entry(list: unknown, name: string, field: string): Entry | undefined {
  if (!Array.isArray(list)) return undefined;
  const found = (list as Named[]).find((item) => item?.name === name)?.[field];
  return typeof found === "object" && found !== null ? (found as Entry) : undefined;
}

export function loadWebhookConfig(path: string): WebhookTarget {
  let doc: Entry;
  try {
    doc = (parseYaml(readFileSync(path, "utf8")) ?? {}) as Entry;
  } catch (error) {
    return fail(path, `${(error as Error).message}: give a kubeconfig-format file`);
  }
  const base = dirname(resolve(path));
  const str = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined);
  const data = (value: unknown) => (str(value) ? Buffer.from(value as string, "base64").toString("utf8") : undefined);
  const file = (value: unknown, what: string) => {
    const name = str(value);
    return name ? readText(resolve(base, name), what, path) : undefined;
  };
  const contextName = str(doc["current-context"]);
  if (!contextName) fail(path, "no current-context: name the context of the webhook");
  const context = entry(doc.contexts, contextName, "context");
  if (!context) fail(path, `context ${JSON.stringify(contextName)} not found`);
  const clusterName = str(context.cluster) ?? "";
  const cluster = entry(doc.clusters, clusterName, "cluster");
  if (!cluster) fail(path, `cluster ${JSON.stringify(clusterName)} not found`);
  const user = entry(doc.users, str(context.user) ?? "", "user") ?? {};
  const server = str(cluster.server);
  if (!server) fail(path, `cluster ${JSON.stringify(clusterName)} has no server`);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return fail(path, `server ${JSON.stringify(server)} is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    fail(path, `server ${JSON.stringify(server)}: the scheme must be https or http`);
  }
  if (cluster["insecure-skip-tls-verify"] === true) {
    fail(path, "insecure-skip-tls-verify is refused: give the webhook's CA in certificate-authority");
  }
  if (str(cluster["proxy-url"])) fail(path, "proxy-url is not supported: address the webhook directly");
  if (user.exec || user["auth-provider"]) {
    fail(path, "exec and auth-provider users are not supported: use a token, tokenFile or client certificate");
  }
  const cert = data(user["client-certificate-data"]) ?? file(user["client-certificate"], "client-certificate");
  const key = data(user["client-key-data"]) ?? file(user["client-key"], "client-key");
  if ((cert === undefined) !== (key === undefined)) {
    fail(path, "a client certificate needs its key (client-certificate and client-key go together)");
  }
  const tokenFile = str(user.tokenFile);
  const username = str(user.username);
  // client-go: "more than one authentication method found" (clientcmd validation.go) and
  // "username/password or bearer token may be set, but not both" (transport).
  if ((str(user.token) || tokenFile) && (username || str(user.password))) {
    fail(path, "a user with both a token and a username/password: keep one of them");
  }
  return {
    url,
    ca: data(cluster["certificate-authority-data"]) ?? file(cluster["certificate-authority"], "certificate-authority"),
    cert,
    key,
    servername: str(cluster["tls-server-name"]),
    // As clientcmd: a tokenFile without a token is read now (unreadable: refused at start), its
    // content the token to fall back on when a later read fails.
    token: str(user.token) ?? (tokenFile ? file(tokenFile, "tokenFile")?.trim() : undefined),
    tokenFile: tokenFile ? resolve(base, tokenFile) : undefined,
    basic: username ? { username, password: typeof user.password === "string" ? user.password : "" } : undefined,
  };
}
