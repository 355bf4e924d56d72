// Runs the helm binary the test bed builds (testbed/helm.ts) against charts/kube-oidc-gateway
// and parses what it renders, for the chart tests.
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { ensureHelm } from "../../testbed/helm.ts";
import { repoRoot } from "../../testbed/paths.ts";

export const chartDir = join(repoRoot, "charts", "kube-oidc-gateway");
export const examplesDir = join(chartDir, "examples");
/** Values files of this chart in examples/. */
export const gatewayExamples = ["keycloak-headlamp.yaml", "keycloak-in-cluster.yaml", "sessions-redis.yaml"] as const;
/** The Headlamp side of the incident example (way A: Headlamp's own OIDC, the gateway's bearer API
 * on the HTTPS port): values for Headlamp's chart, and their rendering. */
export const headlampValues = join(examplesDir, "headlamp-values.yaml");
export const headlampManifests = join(examplesDir, "headlamp-manifests.yaml");
/** The Headlamp side of way B (the gateway's login in front, Headlamp's API on the API listener). */
export const headlampLoginValues = join(examplesDir, "headlamp-login-values.yaml");
export const headlampLoginManifests = join(examplesDir, "headlamp-login-manifests.yaml");
/** Each gateway example with the Headlamp side it is deployed with (docs/headlamp.md ways A and B). */
export const headlampSideOf: Readonly<
  Record<(typeof gatewayExamples)[number], { readonly values: string; readonly manifests: string }>
> = {
  "keycloak-headlamp.yaml": { values: headlampValues, manifests: headlampManifests },
  "keycloak-in-cluster.yaml": { values: headlampValues, manifests: headlampManifests },
  "sessions-redis.yaml": { values: headlampLoginValues, manifests: headlampLoginManifests },
};
/** The release the examples assume (the Headlamp side names its Service). */
export const release = { name: "kube-oidc-gateway", namespace: "kube-oidc-gateway" } as const;
/** Where the chart mounts config.yaml and the files it names (templates/_helpers.tpl). */
export const configDir = "/etc/kube-oidc-gateway";

/** Time for the first build of helm with empty Go caches (about 2 minutes on 2 cores). */
export const helmBuildTimeoutMs = 10 * 60_000;

let binary: Promise<string> | undefined;
/** The helm binary, built once per process (and found in .cache/ afterwards). */
export const helmBinary = () => {
  binary ??= ensureHelm();
  return binary;
};

export interface HelmRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs helm with `args`; never throws for a non-zero exit, which some tests expect. */
export async function helm(args: readonly string[]): Promise<HelmRun> {
  const path = await helmBinary();
  return new Promise((resolve, reject) => {
    execFile(
      path,
      [...args],
      // HOME-independent: helm reads no repositories or plugins for lint and template.
      { cwd: repoRoot, timeout: 60_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, HELM_NO_PLUGINS: "1" } },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") reject(error);
        else resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are checked field by field in the tests
  readonly [field: string]: any;
}

export interface Rendered {
  /** helm template's output, as `kube-oidc-gateway lint -` would read it. */
  readonly text: string;
  readonly objects: readonly K8sObject[];
  /** The one object of `kind` (and `name`, if given); fails when there is none. */
  one(kind: string, name?: string): K8sObject;
  /** Every object of `kind`. */
  all(kind: string): readonly K8sObject[];
}

export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((document) => document.toJS() as K8sObject | null)
    .filter((object): object is K8sObject => object !== null);
}

/** `helm template` of the chart as the release the examples assume; fails on a non-zero exit. */
export async function render(
  options: { values?: readonly string[]; args?: readonly string[] } = {},
): Promise<Rendered> {
  const result = await helm([
    "template",
    release.name,
    chartDir,
    "--namespace",
    release.namespace,
    ...templateArgs(options),
  ]);
  if (result.code !== 0) throw new Error(`helm template failed (${result.code}): ${result.stderr}`);
  const objects = parseManifests(result.stdout);
  const all = (kind: string) => objects.filter((o) => o.kind === kind);
  return {
    text: result.stdout,
    objects,
    all,
    one(kind, name) {
      const found = all(kind).filter((o) => name === undefined || o.metadata.name === name);
      if (found.length !== 1)
        throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, rendered ${found.length}`);
      return found[0] as K8sObject;
    },
  };
}

/**
 * A repository for the image that is not the values' placeholder, which the chart refuses (no image
 * is published; .test is a reserved name, RFC 2606). templateArgs passes it first, so examples and
 * --set still win.
 */
export const imageArgs = ["--set", "image.repository=images.test/kube-oidc-gateway"] as const;
/** The issuer the default values lack (the chart refuses to render without one). */
export const issuerArgs = [
  "--set",
  "config.oidc-issuer-url=https://issuer.example.com",
  "--set",
  "config.oidc-client-id=kubernetes",
] as const;

export function templateArgs(options: { values?: readonly string[]; args?: readonly string[] }): string[] {
  return [
    ...imageArgs,
    ...(options.values ?? []).flatMap((file) => ["--values", join(examplesDir, file)]),
    ...(options.args ?? []),
  ];
}

/**
 * templates/NOTES.txt as `helm install` prints it. `helm template` leaves NOTES.txt out and
 * `helm install --dry-run` needs a reachable cluster, so a copy of the chart gets the file's text as
 * a named template and one ConfigMap that holds its rendering; Helm renders it with the same
 * values, release and functions.
 */
export async function renderNotes(options: { values?: readonly string[]; args?: readonly string[] } = {}) {
  const copy = await mkdtemp(join(tmpdir(), "kog-chart-notes-"));
  try {
    const chart = join(copy, "kube-oidc-gateway");
    await cp(chartDir, chart, { recursive: true });
    const notes = await readFile(join(chartDir, "templates", "NOTES.txt"), "utf8");
    await writeFile(
      join(chart, "templates", "_notes-under-test.tpl"),
      `{{- define "notes-under-test" -}}\n${notes}{{- end }}\n`,
    );
    await writeFile(
      join(chart, "templates", "notes-under-test.yaml"),
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\ndata:\n  notes: {{ include "notes-under-test" . | toJson }}\n',
    );
    const result = await helm([
      "template",
      release.name,
      chart,
      "--namespace",
      release.namespace,
      "--show-only",
      "templates/notes-under-test.yaml",
      ...templateArgs(options),
    ]);
    if (result.code !== 0) throw new Error(`helm template failed (${result.code}): ${result.stderr}`);
    const [configMap] = parseManifests(result.stdout);
    return String(configMap?.data.notes);
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}

/** Egress rules other than DNS and the API server, in both policies: the issuer's. */
export const issuerEgressRules = (rendered: Rendered) => ({
  policy: rendered
    .one("NetworkPolicy")
    .spec.egress.filter(
      (rule: { ports: { port: number }[] }) => !rule.ports.some((p) => p.port === 53 || p.port === 6443),
    ),
  cilium: rendered
    .one("CiliumNetworkPolicy")
    .spec.egress.filter(
      (rule: { toEntities?: string[]; toEndpoints?: { matchLabels: Record<string, string> }[] }) =>
        !rule.toEntities?.includes("kube-apiserver") && rule.toEndpoints?.[0]?.matchLabels["k8s-app"] !== "kube-dns",
    ),
});
