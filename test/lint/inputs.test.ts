// lint knows what it reads (issue 20): a chart folder is rendered with helm, a kustomization built
// with kustomize or kubectl, a values file or a document that is no Kubernetes object is one
// finding; when the tool is missing or the render fails, one finding with the command to run.
// Before, each of these was "No findings" and exit 0, and a chart folder gave ~2,000 yaml-syntax
// errors (its templates read as YAML). helm and kubectl are the test bed's, found on the PATH
// given to the CLI as a user's shell would.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { main } from "../../src/cli/main.ts";
import { renderChart } from "../../src/lint/render/helm.ts";
import { ensureHelm } from "../../testbed/helm.ts";
import { ensureKubeBinaries } from "../../testbed/kube-binaries.ts";
import { fixtures } from "./helpers.ts";

const repo = join(import.meta.dirname, "..", "..");
const inputs = join(fixtures, "inputs");
const chart = join(inputs, "chart");
const kustomization = join(inputs, "kustomization");

interface JsonFinding {
  ruleId: string;
  severity: string;
  file: string;
  line: number;
  column: number;
  source: string | null;
  message: string;
  fix: string;
  object: { kind: string; name: string; namespace: string | null } | null;
}

let helmBin = "";
let kubectlBin = "";
let home = "";
let nothing = "";

/** `lint -o json …` in-process, with PATH holding only `folders`. */
async function lint(argv: string[], folders: string[]) {
  const out = { stdout: "", stderr: "" };
  const code = await main(["lint", "-o", "json", ...argv], {
    stdout: (t: string) => {
      out.stdout += t;
    },
    stderr: (t: string) => {
      out.stderr += t;
    },
    stdin: Readable.from([]),
    env: { PATH: folders.join(":"), HOME: home },
  });
  const document = JSON.parse(out.stdout) as { findings: JsonFinding[]; summary: { files: number; objects: number } };
  return { code, findings: document.findings, summary: document.summary, stderr: out.stderr };
}

const rel = (file: string) => relative(repo, file);

describe("lint reads what it is given: charts, kustomizations, values files", () => {
  before(async () => {
    helmBin = await ensureHelm();
    kubectlBin = (await ensureKubeBinaries()).kubectl;
    home = await mkdtemp(join(tmpdir(), "lint-inputs-home-"));
    // A PATH folder with nothing in it: no helm, no kustomize, no kubectl.
    nothing = await mkdtemp(join(tmpdir(), "lint-inputs-empty-path-"));
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
    await rm(nothing, { recursive: true, force: true });
  });

  it("renders a chart folder with helm template and reports findings at the template they come from", async () => {
    const result = await lint([chart, "--set", "issuer.url=https://issuer.example.com"], [dirname(helmBin)]);
    assert.equal(result.code, 1);
    assert.deepEqual(
      result.findings.map((f) => `${f.ruleId} ${rel(f.file)}:${f.line}:${f.column}`),
      ["cnp-toservices-apiserver test/lint/fixtures/inputs/chart/templates/policy.yaml:18:11"],
    );
    assert.equal(result.findings[0]?.source, "inputs-chart/templates/policy.yaml");
    // Three templates rendered, each a file of its own; _helpers.tpl, values.yaml and ci/ are not read.
    assert.equal(result.summary.files, 3);
    assert.equal(result.summary.objects, 4);
    // The line is the one `helm template … --show-only templates/policy.yaml` prints it on.
    const shown = execFileSync(
      helmBin,
      [
        "template",
        "inputs-chart",
        chart,
        "--set",
        "issuer.url=https://issuer.example.com",
        "--show-only",
        "templates/policy.yaml",
      ],
      { env: { HOME: home }, encoding: "utf8" },
    ).split("\n");
    assert.match(shown[17] ?? "", /^ {8}- k8sService: \{serviceName: kubernetes/);
  });

  it("gives each template one source, as helm template --show-only prints it, though helm prints its documents apart", async () => {
    const set = ["issuer.url=https://issuer.example.com"];
    const env = { PATH: dirname(helmBin), HOME: home };
    const sources = await renderChart(chart, { values: [], set, env });
    assert.deepEqual(
      sources.map((s) => relative(chart, s.file)),
      ["templates/configmap.yaml", "templates/secret.yaml", "templates/policy.yaml"],
    );
    for (const source of sources) {
      const template = relative(chart, source.file);
      const shown = execFileSync(
        helmBin,
        ["template", "inputs-chart", chart, "--set", set[0] ?? "", "--show-only", template],
        {
          env,
          encoding: "utf8",
        },
      );
      assert.equal(source.text, shown, template);
    }
    // configmap.yaml's ServiceAccount and ConfigMap have secret.yaml's Secret between them.
    assert.match(sources[0]?.text ?? "", /kind: ServiceAccount[\s\S]*kind: ConfigMap/);
  });

  it("passes --release-name, --namespace, -f and --set to helm, and uses a values file named beside the chart as -f", async () => {
    const root = await mkdtemp(join(tmpdir(), "lint-inputs-values-"));
    const values = join(root, "values-prod.yaml");
    await writeFile(values, "issuer:\n  url: https://issuer.example.com\n");
    for (const argv of [
      [chart, values],
      [chart, "-f", values],
      [chart, `--values=${values}`],
    ]) {
      const result = await lint([...argv, "--release-name=web", "--namespace=auth"], [dirname(helmBin)]);
      assert.equal(result.code, 1, argv.join(" "));
      assert.deepEqual(
        result.findings.map((f) => `${f.ruleId} ${rel(f.file)}`),
        ["cnp-toservices-apiserver test/lint/fixtures/inputs/chart/templates/policy.yaml"],
        argv.join(" "),
      );
      const object = result.findings[0]?.object;
      assert.equal(`${object?.namespace}/${object?.name}`, "auth/web-api", argv.join(" "));
    }
    await rm(root, { recursive: true });
  });

  it("a chart that does not render (a required value) is one finding with helm's error and the command", async () => {
    const result = await lint([chart], [dirname(helmBin)]);
    assert.equal(result.code, 1);
    assert.equal(result.findings.length, 1);
    const [finding] = result.findings;
    assert.equal(
      `${finding?.ruleId} ${rel(finding?.file ?? "")}:${finding?.line}`,
      `unread-input test/lint/fixtures/inputs/chart/Chart.yaml:1`,
    );
    assert.equal(
      finding?.message,
      `helm template could not render the chart ${chart} (exit 1: Error: execution error at (inputs-chart/templates/configmap.yaml:8:13): issuer.url is required: the OIDC issuer's URL), so lint did not check it; run: helm template inputs-chart ${chart} | kube-oidc-gateway lint -`,
    );
  });

  it("a chart without helm on PATH is one finding with the exact command, flags included; its templates are not parsed", async () => {
    const result = await lint(
      [chart, "-f", "prod.yaml", "--set", "issuer.url=https://a b", "--namespace=auth"],
      [nothing],
    );
    assert.equal(result.code, 1);
    assert.deepEqual(
      result.findings.map((f) => `${f.ruleId} ${f.message}`),
      [
        `unread-input ${chart} is a Helm chart and helm is not on PATH, so lint did not render or check it (templates are not YAML); run: helm template inputs-chart ${chart} --namespace auth -f prod.yaml --set 'issuer.url=https://a b' | kube-oidc-gateway lint -`,
      ],
    );
    // A credential given with --set is not repeated in the finding (CI logs, SARIF uploads);
    // regression: the command echoed every --set value as typed.
    const secret = await lint(
      [chart, "--set", "issuer.url=https://a,issuer.clientSecret=hunter2-s3cret", "--set", "redis.password=pw-0123"],
      [nothing],
    );
    const message = secret.findings[0]?.message ?? "";
    assert.match(
      message,
      /--set 'issuer\.url=https:\/\/a,issuer\.clientSecret=<redacted>' --set 'redis\.password=<redacted>' \| kube-oidc-gateway lint -$/,
    );
    assert.ok(!/hunter2|pw-0123/.test(JSON.stringify(secret.findings)), "a --set credential was echoed");
    // --fail-on=never still reports it; the exit code is the user's choice then.
    const never = await lint(["--fail-on=never", chart], [nothing]);
    assert.equal(never.findings.length, 1);
    assert.equal(never.code, 0);
  });

  it("renders a chart found while walking a folder, and does not read its templates as YAML", async () => {
    const root = await mkdtemp(join(tmpdir(), "lint-inputs-walk-"));
    await cp(chart, join(root, "charts", "app"), { recursive: true });
    await mkdir(join(root, "deploy"));
    await writeFile(join(root, "deploy", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n");
    const result = await lint([root, "--set", "issuer.url=https://issuer.example.com"], [dirname(helmBin)]);
    assert.equal(result.code, 1);
    assert.deepEqual(
      result.findings.map((f) => `${f.ruleId} ${relative(root, f.file)}`),
      ["cnp-toservices-apiserver charts/app/templates/policy.yaml"],
    );
    assert.equal(result.summary.objects, 5);
    const without = await lint([root], [nothing]);
    assert.deepEqual(
      without.findings.map((f) => `${f.ruleId} ${relative(root, f.file)}`),
      ["unread-input charts/app/Chart.yaml"],
    );
    await rm(root, { recursive: true });
  });

  it("renders this project's chart with an issuer and an image: no yaml-syntax or unread-input, every file a template of it", async () => {
    const ours = join(repo, "charts", "kube-oidc-gateway");
    const result = await lint(
      [
        ours,
        "--set",
        "image.repository=registry.internal/kube-oidc-gateway",
        "--set",
        "config.oidc-issuer-url=https://issuer.example.com",
        "--set",
        "config.oidc-client-id=kubernetes",
        "--namespace=kube-oidc-gateway",
      ],
      [dirname(helmBin)],
    );
    assert.deepEqual(
      result.findings.filter((f) => f.ruleId === "yaml-syntax" || f.ruleId === "unread-input"),
      [],
    );
    assert.ok(result.summary.objects >= 5, `${result.summary.objects} objects`);
    assert.equal(result.code, result.findings.some((f) => f.severity === "error") ? 1 : 0);
    // Its default values file alone is one line that says to lint the chart.
    const values = await lint([join(ours, "values.yaml")], [dirname(helmBin)]);
    assert.equal(values.code, 1);
    assert.deepEqual(
      values.findings.map((f) => f.message),
      [
        `${join(ours, "values.yaml")} is the chart ${ours}'s default values, not manifests, so lint checked nothing; run: kube-oidc-gateway lint ${ours}`,
      ],
    );
  });

  it("builds a kustomization with kubectl kustomize (folder or file named) and does not lint its patch alone", async () => {
    for (const named of [kustomization, join(kustomization, "kustomization.yaml")]) {
      const result = await lint([named], [dirname(kubectlBin)]);
      assert.equal(result.code, 1, named);
      // The patch turns the policy's toEntities into toServices: one finding, in namespace web,
      // on the built object; the patch and the resource are not linted on their own as well.
      assert.deepEqual(
        result.findings.map((f) => `${f.ruleId} ${rel(f.file)}:${f.line}`),
        ["cnp-toservices-apiserver test/lint/fixtures/inputs/kustomization/kustomization.yaml:9"],
        named,
      );
      assert.equal(result.summary.objects, 1);
    }
    // The line is that of the build's output, as `kubectl kustomize` prints it.
    const built = execFileSync(kubectlBin, ["kustomize", kustomization], { env: { HOME: home }, encoding: "utf8" });
    assert.match(built.split("\n")[8] ?? "", /^ {4}- k8sService:/);
    const walked = await lint(
      [inputs, "--set", "issuer.url=https://issuer.example.com"],
      [dirname(kubectlBin), dirname(helmBin)],
    );
    assert.deepEqual(
      walked.findings.map((f) => `${f.ruleId} ${relative(inputs, f.file)}`),
      [
        "cnp-toservices-apiserver chart/templates/policy.yaml",
        "unread-input headlamp/values.yaml",
        "cnp-toservices-apiserver kustomization/kustomization.yaml",
      ],
    );
  });

  it("a kustomization without kustomize or kubectl on PATH is one finding with the exact command", async () => {
    const result = await lint([kustomization], [nothing]);
    assert.equal(result.code, 1);
    assert.deepEqual(
      result.findings.map((f) => `${f.ruleId} ${rel(f.file)} ${f.message}`),
      [
        `unread-input test/lint/fixtures/inputs/kustomization/kustomization.yaml ${kustomization} is a kustomization and neither kustomize nor kubectl is on PATH, so lint did not build or check it; run: kustomize build ${kustomization} | kube-oidc-gateway lint -`,
      ],
    );
    assert.match(result.findings[0]?.fix ?? "", /kubectl kustomize .*kustomization \| kube-oidc-gateway lint -/);
  });

  it("Headlamp's values.yaml is one line: a values file, and the command that lints its chart", async () => {
    const values = join(inputs, "headlamp", "values.yaml");
    const result = await lint([values], [dirname(helmBin)]);
    assert.equal(result.code, 1);
    assert.deepEqual(
      result.findings.map((f) => `${f.severity} ${f.ruleId} ${f.line}:${f.column} ${f.message}`),
      [
        `error unread-input 1:1 ${values} is a Helm values file, not manifests, so lint checked nothing; run: kube-oidc-gateway lint <chart-dir> -f ${values}`,
      ],
    );
  });

  it("a values file in a chart's folder names that chart in its one line, and named with the chart is its -f", async () => {
    const values = join(chart, "ci", "issuer-values.yaml");
    const alone = await lint([values], [dirname(helmBin)]);
    assert.equal(alone.code, 1);
    assert.deepEqual(
      alone.findings.map((f) => f.message),
      [
        `${values} is a Helm values file, not manifests, so lint checked nothing; run: kube-oidc-gateway lint ${chart} -f ${values}`,
      ],
    );
    const rendered = await lint([chart, values], [dirname(helmBin)]);
    assert.deepEqual(
      rendered.findings.map((f) => `${f.ruleId} ${rel(f.file)}`),
      ["cnp-toservices-apiserver test/lint/fixtures/inputs/chart/templates/policy.yaml"],
    );
  });

  it("any other document that is no Kubernetes object is one finding at its line, not silence", async () => {
    const root = await mkdtemp(join(tmpdir(), "lint-inputs-other-"));
    const file = join(root, "settings.yaml");
    await writeFile(
      file,
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nlogLevel: debug\nreplicas: 2\n---\n- a\n",
    );
    const result = await lint([file], [nothing]);
    assert.equal(result.code, 1);
    assert.deepEqual(
      result.findings.map((f) => `${f.ruleId} ${f.line} ${f.message}`),
      [
        "unread-input 5 not a Kubernetes object: a mapping with neither apiVersion nor kind, so lint checked nothing in it",
        "unread-input 8 not a Kubernetes object: a list, so lint checked nothing in it",
      ],
    );
    assert.equal(result.summary.objects, 1);
    await rm(root, { recursive: true });
  });

  // Review of issue 20: `lint .` reported package.json, tsconfig.json and renovate.yaml as
  // unread-input errors, failing any repository's walk.
  it("a walked file with no Kubernetes object in it is a note, not an error; named directly it stays an error", async () => {
    const root = await mkdtemp(join(tmpdir(), "lint-inputs-walk-"));
    await writeFile(join(root, "package.json"), '{"name": "app", "scripts": {"test": "node --test"}}\n');
    await writeFile(join(root, "tsconfig.json"), '{"compilerOptions": {"strict": true}}\n');
    await writeFile(join(root, "renovate.yaml"), "extends: [config:recommended]\n");
    await writeFile(join(root, "half.yaml"), "kind: ConfigMap\nmetadata: {name: a}\n");
    await writeFile(join(root, "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n");
    const walked = await lint([root], [nothing]);
    // Half an object (kind without apiVersion) is a broken manifest and stays an error.
    assert.deepEqual(
      walked.findings.map((f) => `${f.ruleId} ${relative(root, f.file)} ${f.message}`),
      ["unread-input half.yaml not a Kubernetes object: a mapping with no apiVersion, so lint checked nothing in it"],
    );
    for (const name of ["package.json", "renovate.yaml", "tsconfig.json"]) {
      assert.match(
        walked.stderr,
        new RegExp(`skipped .*/${name.replace(".", "\\.")}: no Kubernetes object in it`),
        name,
      );
    }
    assert.equal(walked.summary.objects, 1);
    const named = await lint([join(root, "package.json")], [nothing]);
    assert.equal(named.code, 1);
    assert.deepEqual(
      named.findings.map((f) => `${f.ruleId} ${f.message}`),
      [
        "unread-input not a Kubernetes object: a mapping with neither apiVersion nor kind, so lint checked nothing in it",
      ],
    );
    await rm(root, { recursive: true });
  });

  // Review of issue 20: walking a base/ and an overlays/prod/ that takes it in built base twice,
  // so its objects were checked (and any finding reported) twice.
  it("a kustomization another one in the same walk takes in as a resource is built only through it", async () => {
    const root = await mkdtemp(join(tmpdir(), "lint-inputs-overlays-"));
    await mkdir(join(root, "base"));
    await mkdir(join(root, "overlays", "prod"), { recursive: true });
    await writeFile(join(root, "base", "kustomization.yaml"), "resources: [cm.yaml]\n");
    await writeFile(join(root, "base", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n");
    await writeFile(
      join(root, "overlays", "prod", "kustomization.yaml"),
      "resources: [../../base]\nnamePrefix: prod-\n",
    );
    const walked = await lint([root], [dirname(kubectlBin)]);
    assert.deepEqual(walked.findings, []);
    assert.equal(walked.summary.objects, 1);
    assert.match(walked.stderr, /skipped .*\/base: a resource of .*overlays\/prod\/kustomization\.yaml/);
    // Named on its own, base is built as ever.
    assert.equal((await lint([join(root, "base")], [dirname(kubectlBin)])).summary.objects, 1);
    // Two kustomizations that take in each other are a cycle kustomize refuses: neither is
    // skipped, so each build's error is reported rather than nothing at all.
    await mkdir(join(root, "cycle", "a"), { recursive: true });
    await mkdir(join(root, "cycle", "b"));
    await writeFile(join(root, "cycle", "a", "kustomization.yaml"), "resources: [../b]\n");
    await writeFile(join(root, "cycle", "b", "kustomization.yaml"), "resources: [../a]\n");
    const cycle = await lint([join(root, "cycle")], [dirname(kubectlBin)]);
    assert.deepEqual(
      cycle.findings.map((f) => `${f.ruleId} ${relative(root, f.file)}`),
      ["unread-input cycle/a/kustomization.yaml", "unread-input cycle/b/kustomization.yaml"],
    );
    await rm(root, { recursive: true });
  });

  // Review of issue 20: a kustomization's findings named its folder, where a SARIF annotation
  // cannot land; now they name the kustomization file and their source names the build output.
  it("kustomize findings name the kustomization file, not its folder, and say the line is of the build output", async () => {
    const result = await lint([kustomization], [dirname(kubectlBin)]);
    assert.deepEqual(
      result.findings.map((f) => `${rel(f.file)}:${f.line} ${f.source}`),
      [
        `test/lint/fixtures/inputs/kustomization/kustomization.yaml:9 kubectl kustomize ${kustomization} output (the line is of this output)`,
      ],
    );
  });

  // Review of issue 20: Fluent Bit's values have a top-level `kind: DaemonSet`, so the values file
  // test (no apiVersion and no kind) missed them and they passed as one object.
  it("a values file with a top-level kind (Fluent Bit's) is still a values file, in one line", async () => {
    const root = await mkdtemp(join(tmpdir(), "lint-inputs-fluent-bit-"));
    const values = join(root, "fluent-bit-values.yaml");
    await writeFile(values, "kind: DaemonSet\nimage:\n  repository: cr.fluentbit.io/fluent/fluent-bit\n");
    const result = await lint([values], [nothing]);
    assert.equal(result.code, 1);
    assert.deepEqual(
      result.findings.map((f) => `${f.ruleId} ${f.message}`),
      [
        `unread-input ${values} is a Helm values file, not manifests, so lint checked nothing; run: kube-oidc-gateway lint <chart-dir> -f ${values}`,
      ],
    );
    await rm(root, { recursive: true });
  });

  // Review of issue 20: a chart that rendered nothing passed as "No findings (0 objects)".
  it("a chart that renders nothing is one unread-input line at its Chart.yaml: nothing to check", async () => {
    const root = await mkdtemp(join(tmpdir(), "lint-inputs-empty-chart-"));
    await mkdir(join(root, "templates"));
    await writeFile(join(root, "Chart.yaml"), "apiVersion: v2\nname: off\nversion: 0.1.0\n");
    await writeFile(
      join(root, "templates", "cm.yaml"),
      "{{- if .Values.enabled }}\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n{{- end }}\n",
    );
    const result = await lint([root], [dirname(helmBin)]);
    assert.equal(result.code, 1);
    assert.deepEqual(
      result.findings.map((f) => `${f.ruleId} ${f.file} ${f.message}`),
      [
        `unread-input ${join(root, "Chart.yaml")} nothing to check: no Kubernetes object in ${join(root, "Chart.yaml")}`,
      ],
    );
    await rm(root, { recursive: true });
  });
});
