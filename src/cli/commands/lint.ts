import { ConfigError } from "../../config/errors.ts";
import { type FlagSpec, formatFlagHelp, parseFlags, valuesFromEnv } from "../../config/flags.ts";
import { DocsBaseUrlError, parseDocsBaseUrl } from "../../docs/links.ts";
import type { GatewayError } from "../../errors.ts";
import { disableAnnotation, severityAnnotation } from "../../lint/annotations.ts";
import { defaultLintConfig, loadLintConfig } from "../../lint/config.ts";
import { LintError } from "../../lint/errors.ts";
import { exitCodeFor, parseFailOn } from "../../lint/fail-on.ts";
import { readInputs } from "../../lint/inputs.ts";
import { lintSources } from "../../lint/lint.ts";
import { outputFormats } from "../../lint/output/index.ts";
import { formatJsonError } from "../../lint/output/json.ts";
import { escapeControls } from "../../lint/output/text.ts";
import { allRules } from "../../lint/rules/index.ts";
import { authenticatingPortsAnnotation } from "../../lint/rules/probe-on-auth-endpoint.ts";
import type { Command, CommandContext } from "../command.ts";

const group = "Lint";

export const lintFlags: readonly FlagSpec[] = [
  {
    name: "output",
    short: "o",
    type: "string",
    group,
    default: "text",
    help: "text (for people), json, sarif (2.1.0, for GitHub code scanning) or junit (XML, one testsuite per rule)",
  },
  {
    name: "fail-on",
    type: "string",
    group,
    default: "error",
    help: "exit 1 when a finding is at least this severe: error, warning, info, or never",
  },
  {
    name: "docs-base-url",
    type: "string",
    group,
    help: "URL of a folder holding the lint/ and doctor/ pages (e.g. the repository's docs/ at your release): findings then link to <url>/lint/<rule-id>.md, and SARIF gets helpUri; without it they name 'kube-oidc-gateway explain <rule-id>' and SARIF has no helpUri",
  },
  {
    name: "values",
    short: "f",
    type: "list",
    noSplit: true,
    group,
    help: "a values file for the charts lint renders, passed to helm template as -f (repeatable; later files win)",
  },
  {
    name: "set",
    type: "list",
    noSplit: true,
    group,
    help: "a value for the charts lint renders, passed to helm template as --set (repeatable, helm's syntax)",
  },
  {
    name: "release-name",
    type: "string",
    group,
    help: "the release name charts are rendered with (default: the chart's name)",
  },
  {
    name: "namespace",
    type: "string",
    group,
    help: "the namespace charts are rendered for, helm template's --namespace (default: helm's, default)",
  },
  {
    name: "lint-config",
    type: "string",
    group,
    help: "YAML file that turns rules off or re-grades them and states the issuer's tokenLifetime",
  },
];

const idWidth = Math.max(...allRules.map((r) => r.id.length));

const help = `Usage: kube-oidc-gateway lint [flags] <file|folder|->...

Reads manifests (files, folders, Helm charts, kustomizations, or rendered output on standard
input) and reports the misconfigurations that break OIDC login to Kubernetes: prefixes that make
RBAC bindings miss, CA bundles the client never reads, network policies naming the Service port
instead of the pod port, probes pointed at an authenticating endpoint, and more.

Folders are read recursively (*.yaml, *.yml, *.json; hidden folders skipped; symbolic links
followed, each folder once); only regular files up to 16 MiB are read from them, files with no
Kubernetes object in them (package.json) are skipped, and what is skipped is said on standard
error. A folder with a Chart.yaml is rendered with 'helm template'
(--release-name, --namespace, -f/--values, --set; a values file named with the chart is its
-f), one with a kustomization with 'kustomize build' or else 'kubectl kustomize'; each is linted
as rendered and not walked into. Without the tool, or when the render fails, that input is one
error finding with the command to run by hand. A Helm values file, or any document that is no
Kubernetes object, is one error finding too: lint does not pass what it did not check. '-' reads
standard input. Multi-document files and 'kind: List' are understood, and the
'# Source:' comments of 'helm template' output name the template each finding comes from. Every
finding gives the file:line:column of the offending field, the object, a fix, and its rule's
documentation page.

Examples:
  kube-oidc-gateway lint deploy/
  kube-oidc-gateway lint charts/headlamp -f values.yaml --namespace headlamp
  kube-oidc-gateway lint overlays/prod                              # a kustomization
  set -o pipefail; helm template headlamp headlamp/headlamp -f values.yaml | kube-oidc-gateway lint -
  kube-oidc-gateway lint -o json deploy/ | jq '.findings[] | .ruleId'
  kube-oidc-gateway lint --output sarif rendered/ > lint.sarif     # upload to GitHub code scanning
  kube-oidc-gateway lint -o sarif --docs-base-url=https://github.com/<owner>/kube-oidc-gateway/blob/<tag>/docs/ rendered/
  kube-oidc-gateway lint --output junit --fail-on warning deploy/ > lint-junit.xml

Exit status: 0 when no finding reaches --fail-on, 1 when one does, 2 for usage errors
(unknown flag, unreadable path or config, a folder with no manifests in it). Inputs that hold no
Kubernetes object at all (empty standard input, a chart that renders nothing) are one
unread-input error, "nothing to check": a render piped in that failed looks just like that, so
pipe with 'set -o pipefail' or name the chart or kustomization itself.
Every command follows this convention: 0 success, 1 findings or failures, 2 usage errors.

With --output=json, standard output is one JSON document in every case, a usage error too
({"version":1,"tool":…,"error":{"code":…,"message":…}}, exit 2); notes and errors for people go
to standard error.

${formatFlagHelp(lintFlags)}

Rules:
${allRules.map((r) => `  ${r.id.padEnd(idWidth)}  ${r.severity.padEnd(7)}  ${r.title}`).join("\n")}

Config file (--lint-config):
  rules:
    cookie-refresh: off            # off | info | warning | error
    rbac-subject-prefix: error
  tokenLifetime: 5m                # access token lifetime when no Keycloak realm is in the input

Per-object annotations (on the object, or on a workload's pod template):
  ${disableAnnotation}: "cookie-refresh,probe-on-auth-endpoint"
  ${severityAnnotation}: "rbac-subject-prefix=info,cookie-refresh=error"
  ${authenticatingPortsAnnotation}: "8443,https"   # for probe-on-auth-endpoint

Each rule's page explains it with examples: 'kube-oidc-gateway explain <rule-id>' prints it (every
finding names that command), 'kube-oidc-gateway explain --list' lists them.`;

async function run(args: readonly string[], context: CommandContext): Promise<number> {
  let prepared: Awaited<ReturnType<typeof prepare>>;
  try {
    prepared = await prepare(args, context);
  } catch (error) {
    if (!(error instanceof LintError || error instanceof ConfigError || error instanceof DocsBaseUrlError)) throw error;
    context.stderr(
      `kube-oidc-gateway lint: ${escapeControls(error.message)}\nRun 'kube-oidc-gateway lint --help' for usage.\n`,
    );
    // A program reading --output=json gets JSON even now, so `jq` says what went wrong rather
    // than failing to parse an empty stream.
    if (wantsJson(args, context.env)) context.stdout(formatJsonError(error as GatewayError));
    return 2;
  }
  if (prepared === "help") {
    context.stdout(`${help}\n`);
    return 0;
  }
  const { sources, notes, config, format, failOn, docsBaseUrl } = prepared;
  for (const note of notes) context.stderr(`kube-oidc-gateway lint: ${escapeControls(note)}\n`);
  const report = lintSources(sources, config);
  for (const note of report.notes ?? []) context.stderr(`kube-oidc-gateway lint: ${escapeControls(note)}\n`);
  context.stdout(format(report, { docsBaseUrl }));
  return exitCodeFor(report.findings, failOn);
}

async function prepare(args: readonly string[], context: CommandContext) {
  const parsed = parseFlags(lintFlags, args);
  if (parsed.help) return "help" as const;
  // Flags win over the environment (KOG_OUTPUT, KOG_FAIL_ON, KOG_LINT_CONFIG), as for every command.
  const values = { ...valuesFromEnv(lintFlags, context.env), ...parsed.values };
  const outputName = String(values.output ?? "text");
  const format = outputFormats[outputName];
  if (!format) {
    throw new LintError(
      "LINT_INVALID_OUTPUT",
      `--output: ${JSON.stringify(outputName)} is not one of ${Object.keys(outputFormats).join(", ")}`,
    );
  }
  const failOn = parseFailOn(String(values["fail-on"] ?? "error"));
  const docsBaseUrl = values["docs-base-url"] ? parseDocsBaseUrl(String(values["docs-base-url"])) : undefined;
  const config = values["lint-config"] ? await loadLintConfig(String(values["lint-config"])) : defaultLintConfig;
  const list = (name: string) => (values[name] as string[] | undefined) ?? [];
  const { sources, notes } = await readInputs(parsed.positionals, context.stdin, {
    values: list("values"),
    set: list("set"),
    ...(values["release-name"] ? { releaseName: String(values["release-name"]) } : {}),
    ...(values.namespace ? { namespace: String(values.namespace) } : {}),
    // helm, kustomize and kubectl are found on lint's PATH and run with its environment (helm
    // reads its cache and config folders, and any plugins, from there).
    env: context.env,
  });
  return { sources, notes, config, format, failOn, docsBaseUrl };
}

/**
 * Whether the run asked for JSON, read leniently from the arguments and environment a usage error
 * came from (they may not parse): the last -o/--output given, else KOG_OUTPUT.
 */
function wantsJson(args: readonly string[], env: NodeJS.ProcessEnv): boolean {
  let output = env.KOG_OUTPUT;
  for (let index = 0; index < args.length && args[index] !== "--"; index++) {
    const arg = args[index] ?? "";
    const inline = /^(?:--output=|-o=?)(.+)$/.exec(arg);
    if (inline) output = inline[1];
    else if (arg === "--output" || arg === "-o") output = args[index + 1];
  }
  return output === "json";
}

export const lint: Command = {
  name: "lint",
  summary: "flag OIDC misconfigurations in Kubernetes manifests before they ship",
  help,
  run,
};
