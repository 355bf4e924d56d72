import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../../config/errors.ts";
import { type FlagSpec, type FlagValues, formatFlagHelp, parseFlags, valuesFromEnv } from "../../config/flags.ts";
import { loadAuthentication } from "../../config/serve-config.ts";
import { serveFlags } from "../../config/serve-flags.ts";
import { DocsBaseUrlError, docsLink, parseDocsBaseUrl } from "../../docs/links.ts";
import { checks } from "../../doctor/checks/index.ts";
import { runDoctor } from "../../doctor/doctor.ts";
import { type AccessCheck, type CaBundle, type DoctorOptions, dashboardAccessChecks } from "../../doctor/options.ts";
import { renderDoctorReport } from "../../doctor/render-text.ts";
import { readToken, TokenInputError } from "../../token/read-token.ts";
import type { Command, CommandContext } from "../command.ts";

const cluster = "Cluster and user";
const hops = "Other hops (what the dashboard and proxies are given)";
const run = "Run";

export const doctorFlags: readonly FlagSpec[] = [
  {
    name: "kubeconfig",
    type: "string",
    group: cluster,
    help: "admin kubeconfig to read the cluster with (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)",
  },
  {
    name: "token-file",
    type: "string",
    group: cluster,
    help: "file holding the user's id token; - for standard input",
  },
  { name: "token-env", type: "string", group: cluster, help: "environment variable holding the user's id token" },
  { name: "namespace", type: "string", group: cluster, default: "default", help: "namespace for the can-i checks" },
  {
    name: "can-i",
    type: "list",
    group: cluster,
    help: "verb:resource[.group] to check instead of a dashboard's defaults (list:namespaces, list:pods, watch:pods, list:events, list:deployments.apps); repeatable",
  },
  {
    name: "gateway-url",
    type: "string",
    group: cluster,
    help: "URL of the gateway in front of the API server, if any",
  },
  { name: "gateway-ca-file", type: "string", group: cluster, help: "CA bundle that verifies the gateway" },
  ...serveFlags.filter((f) => f.name === "authentication-config" || f.name.startsWith("oidc-")),
  {
    name: "issuer-ca-file",
    type: "list",
    group: hops,
    help: "a CA bundle another hop (dashboard, oauth2-proxy) is given for the issuer; repeatable",
  },
  {
    name: "client-ca-file",
    type: "string",
    group: hops,
    help: "the ca.crt the dashboard's in-cluster client reads (default in a pod: the ServiceAccount's)",
  },
  {
    name: "refresh-interval",
    type: "duration",
    group: hops,
    help: "how often the dashboard's session refreshes tokens",
  },
  {
    name: "token-lifetime",
    type: "duration",
    group: hops,
    help: "the issuer's access/id token lifespan (default: the token's exp − iat)",
  },
  {
    name: "probe-url",
    type: "list",
    group: hops,
    help: "a health probe URL to try without credentials, as the kubelet does; repeatable",
  },
  { name: "output", short: "o", type: "string", group: run, default: "text", help: "text or json" },
  {
    name: "docs-base-url",
    type: "string",
    group: run,
    help: "URL of a folder holding the doctor/ and lint/ pages (e.g. the repository's docs/ at your release): results then link to <url>/doctor/<check-id>.md; without it they name 'kube-oidc-gateway explain <check-id>'",
  },
  { name: "verbose", type: "bool", group: run, help: "show the evidence of passing checks too" },
  { name: "only", type: "list", group: run, help: "run only these check ids" },
  { name: "skip", type: "list", group: run, help: "do not run these check ids" },
  { name: "timeout", type: "duration", group: run, default: "60s", help: "time bound of the whole run" },
  { name: "check-timeout", type: "duration", group: run, default: "10s", help: "time bound of each network request" },
  { name: "allow-system-identities", type: "bool", group: run, help: "as serve's flag: accept system: identities" },
];

const help = `Usage: kube-oidc-gateway doctor [flags]

Runs the OIDC debugging procedure against a live setup and names the root cause: each check
reports PASS, WARN, FAIL or SKIP (with why), the evidence, the fix and the command that prints its
page ('kube-oidc-gateway explain <check-id>').
Checks run in an order where a cause fails before its symptoms, so fix the first FAIL first.

Checks:
${checks.map((c) => `  ${c.id.padEnd(20)} ${c.title}`).join("\n")}

What it reads: the cluster through --kubeconfig (or in-cluster), the API server's flags from its
static Pod when permitted, kube-oidc-gateway, kube-oidc-proxy and oauth2-proxy Deployments, the
RBAC bindings. The user's token comes from --token-file or --token-env, else from the
kubeconfig's own credentials when they are an OIDC token (e.g. kubelogin's exec plugin, run as
kubectl runs it); never from the command line; it is sent only to the gateway and the API
server. The OIDC configuration is taken from --oidc-* or --authentication-config when given,
else from the API server Pod or a gateway Deployment; --oidc-ca-file alone then supplies the
contents of the CA file that configuration names.

Run it where the dashboard runs (e.g. a pod in its namespace) to test that hop's network path
and CA bundle.

Exit status: 0 every check passed or was skipped, 1 a check failed or warned (the report's
summary, and "worst" in JSON, say which), 2 a usage error. Every command follows this
convention: 0 success, 1 findings or failures, 2 usage errors.

Examples:
  # a user's token against the cluster behind a gateway
  kube-oidc-gateway doctor --token-file=token.jwt --gateway-url=https://kube-oidc-gateway.example.com \\
    --oidc-issuer-url=https://keycloak.example.com/realms/kube --oidc-client-id=kubernetes \\
    --oidc-username-claim=preferred_username --oidc-username-prefix=oidc: \\
    --oidc-groups-claim=groups --oidc-groups-prefix=oidc:

  # the dashboard's hop: its CA bundles and refresh interval, as JSON
  kube-oidc-gateway doctor --token-env=ID_TOKEN --issuer-ca-file=/etc/ssl/keycloak-ca.pem \\
    --client-ca-file=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt --refresh-interval=4m --output=json

${formatFlagHelp(doctorFlags)}`;

class UsageError extends Error {}

function readBundle(flag: string, file: string): CaBundle {
  let pem: string;
  try {
    pem = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`--${flag}: ${(error as Error).message}`);
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) throw new UsageError(`--${flag}: ${file} holds no PEM certificate`);
  return { name: `--${flag} ${file}`, pem };
}

function parseUrl(flag: string, text: string): URL {
  if (!URL.canParse(text)) throw new UsageError(`--${flag}: not a URL: ${JSON.stringify(text)}`);
  return new URL(text);
}

function parseAccessChecks(items: readonly string[]): AccessCheck[] {
  return items.map((item) => {
    const match = /^([a-z*]+):([a-z0-9*-]+)(?:\.([a-z0-9.-]+))?$/.exec(item);
    if (!match) throw new UsageError(`--can-i: expected verb:resource[.group], got ${JSON.stringify(item)}`);
    return { verb: match[1] ?? "", resource: match[2] ?? "", group: match[3] ?? "" };
  });
}

function defaultKubeconfig(env: NodeJS.ProcessEnv): string {
  for (const path of (env.KUBECONFIG ?? "").split(":").filter(Boolean)) if (existsSync(path)) return path;
  const home = join(env.HOME ?? homedir(), ".kube", "config");
  if (existsSync(home)) return home;
  return ""; // in-cluster
}

async function optionsFrom(values: FlagValues, context: CommandContext): Promise<DoctorOptions> {
  const str = (name: string) => values[name] as string | undefined;
  const list = (name: string) => (values[name] as string[] | undefined) ?? [];
  const ids = checks.map((c) => c.id);
  for (const id of [...list("only"), ...list("skip")]) {
    if (!ids.includes(id))
      throw new UsageError(`unknown check id ${JSON.stringify(id)}; the ids are: ${ids.join(", ")}`);
  }
  const output = str("output") ?? "text";
  if (output !== "text" && output !== "json")
    throw new UsageError(`--output: expected text or json, got ${JSON.stringify(output)}`);
  let token: DoctorOptions["token"];
  const file = str("token-file");
  const envName = str("token-env");
  if (file || envName) {
    token = { raw: await readToken({ file, envName }, context), source: envName ? `$${envName}` : (file ?? "") };
  }
  const gatewayUrl = str("gateway-url");
  const gatewayCa = str("gateway-ca-file");
  // --oidc-ca-file alone is the issuer CA for a configuration doctor reads from the cluster.
  const explicitOidc = Object.keys(values).some(
    (k) => (k.startsWith("oidc-") && k !== "oidc-ca-file") || k === "authentication-config",
  );
  const oidcCaFile = str("oidc-ca-file");
  let oidc: DoctorOptions["oidc"];
  if (explicitOidc) {
    const fromFile = Boolean(values["authentication-config"]);
    oidc = {
      jwt: loadAuthentication(values, values).jwt,
      source: fromFile ? `--authentication-config ${str("authentication-config")}` : "the --oidc-* flags given",
      fromFile,
    };
  }
  const clientCa = str("client-ca-file");
  return Object.freeze({
    kubeconfig: str("kubeconfig") ?? defaultKubeconfig(context.env),
    token,
    gateway: gatewayUrl
      ? {
          url: parseUrl("gateway-url", gatewayUrl),
          ca: gatewayCa ? readBundle("gateway-ca-file", gatewayCa) : undefined,
        }
      : undefined,
    oidc,
    oidcCa: !explicitOidc && oidcCaFile ? readBundle("oidc-ca-file", oidcCaFile) : undefined,
    issuerCaBundles: list("issuer-ca-file").map((f) => readBundle("issuer-ca-file", f)),
    clientCa: clientCa ? readBundle("client-ca-file", clientCa) : undefined,
    refreshIntervalMs: values["refresh-interval"] as number | undefined,
    tokenLifetimeMs: values["token-lifetime"] as number | undefined,
    namespace: str("namespace") ?? "default",
    accessChecks: list("can-i").length ? parseAccessChecks(list("can-i")) : dashboardAccessChecks,
    probeUrls: list("probe-url").map((u) => parseUrl("probe-url", u)),
    timeoutMs: (values.timeout as number | undefined) ?? 60_000,
    checkTimeoutMs: (values["check-timeout"] as number | undefined) ?? 10_000,
    allowSystemIdentities: values["allow-system-identities"] === true,
    env: context.env,
    serviceAccountDir: "/var/run/secrets/kubernetes.io/serviceaccount",
  });
}

async function runCommand(args: readonly string[], context: CommandContext): Promise<number> {
  const usage = (message: string) => {
    context.stderr(`kube-oidc-gateway doctor: ${message}\nRun 'kube-oidc-gateway doctor --help' for the flags.\n`);
    return 2;
  };
  let values: FlagValues;
  let options: DoctorOptions;
  let docsBaseUrl: URL | undefined;
  try {
    const parsed = parseFlags(doctorFlags, args);
    if (parsed.positionals.length > 0) {
      return usage(
        `doctor takes no arguments, got ${parsed.positionals.length === 1 && parsed.positionals[0]?.split(".").length === 3 ? "what looks like a token (never pass one on the command line: use --token-file or --token-env)" : JSON.stringify(parsed.positionals[0])}`,
      );
    }
    values = { ...valuesFromEnv(doctorFlags, context.env), ...parsed.values };
    docsBaseUrl = values["docs-base-url"] ? parseDocsBaseUrl(String(values["docs-base-url"])) : undefined;
    options = await optionsFrom(values, context);
  } catch (error) {
    if (
      error instanceof UsageError ||
      error instanceof ConfigError ||
      error instanceof TokenInputError ||
      error instanceof DocsBaseUrlError
    )
      return usage(error.message);
    throw error;
  }
  const json = values.output === "json";
  const report = await runDoctor(options, {
    only: values.only as string[] | undefined,
    skip: values.skip as string[] | undefined,
    onProgress: (index, total, check) => {
      if (json && !context.interactive) return;
      const line = `[${String(index + 1).padStart(String(total).length)}/${total}] ${check.id}: ${check.progress}…`;
      context.stderr(context.interactive ? `\r\u001b[K${line}` : `${line}\n`);
    },
  });
  if (context.interactive) context.stderr("\r\u001b[K");
  if (json) {
    // Each result's docs: the page's URL under --docs-base-url, else the command that prints it.
    const results = report.results.map((r) => ({ ...r, docs: docsLink("doctor", r.id, docsBaseUrl) }));
    context.stdout(`${JSON.stringify({ ...report, results }, null, 2)}\n`);
  } else {
    context.stdout(renderDoctorReport(report, values.verbose === true, docsBaseUrl));
  }
  // One convention for every command: 0 success, 1 findings or failures, 2 usage errors. A
  // warning is a finding (a check that did not finish, a risk): it fails CI as it did before,
  // and "worst" in the report tells a warning from a failure.
  return report.worst === "pass" ? 0 : 1;
}

export const doctor: Command = {
  name: "doctor",
  summary: "check a live OIDC setup end to end and name the root cause of what is broken",
  help,
  run: runCommand,
};
