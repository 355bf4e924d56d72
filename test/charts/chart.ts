// Runs the helm binary the test bed builds (testbed/helm.ts) against charts/kube-oidc-gateway
// and parses what it renders, for the chart tests.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { ensureHelm } from "../../testbed/helm.ts";
import { repoRoot } from "../../testbed/paths.ts";

export const chartDir = join(repoRoot, "charts", "kube-oidc-gateway");
export const examplesDir = join(chartDir, "examples");
/** Values files of this chart in examples/. */
export const gatewayExamples = ["keycloak-headlamp.yaml", "sessions-redis.yaml"] as const;
/** The Headlamp side of the incident example: values for Headlamp's chart, and their rendering. */
export const headlampValues = join(examplesDir, "headlamp-values.yaml");
export const headlampManifests = join(examplesDir, "headlamp-manifests.yaml");
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

export function templateArgs(options: { values?: readonly string[]; args?: readonly string[] }): string[] {
  return [...(options.values ?? []).flatMap((file) => ["--values", join(examplesDir, file)]), ...(options.args ?? [])];
}
