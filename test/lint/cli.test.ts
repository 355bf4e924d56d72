import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { main } from "../../src/cli/main.ts";
import { maxInputBytes } from "../../src/lint/inputs.ts";
import { allRules } from "../../src/lint/rules/index.ts";
import { fixtures } from "./helpers.ts";

function run(argv: string[], stdin: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const out = { stdout: "", stderr: "" };
  const io = {
    stdout: (t: string) => {
      out.stdout += t;
    },
    stderr: (t: string) => {
      out.stderr += t;
    },
    stdin: Readable.from(stdin),
    env,
  };
  return main(["lint", ...argv], io).then((code) => ({ code, ...out }));
}

/** Only a warning: a token-forwarding oauth2-proxy refreshing every 10m, against an assumed 5m lifespan. */
const warningOnly = `apiVersion: v1
kind: Pod
metadata: {name: proxy, namespace: web}
spec:
  containers:
    - {name: oauth2-proxy, image: quay.io/oauth2-proxy/oauth2-proxy:v7.6.0, args: [--provider=oidc, --pass-access-token, --cookie-refresh=10m]}
`;

/** An error: Cilium toServices at the API server. */
const error = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api, namespace: web}
spec:
  endpointSelector: {}
  egress:
    - toServices:
        - k8sService: {serviceName: kubernetes, namespace: default}
`;

describe("kube-oidc-gateway lint", () => {
  it("exits by --fail-on: error (default), warning, info, never", async () => {
    assert.equal((await run(["-"], [warningOnly])).code, 0);
    assert.equal((await run(["--fail-on=error", "-"], [warningOnly])).code, 0);
    assert.equal((await run(["--fail-on", "warning", "-"], [warningOnly])).code, 1);
    assert.equal((await run(["--fail-on=info", "-"], [warningOnly])).code, 1);
    assert.equal((await run(["-"], [error])).code, 1);
    assert.equal((await run(["--fail-on=never", "-"], [error])).code, 0);
    assert.equal((await run(["-"], ["apiVersion: v1\nkind: ConfigMap\n"])).code, 0);
  });

  it("reads standard input for '-', in chunks, and names it <stdin>", async () => {
    const result = await run(["-"], [error.slice(0, 40), error.slice(40)]);
    assert.match(
      result.stdout,
      /^<stdin>\n {2}<stdin>:8:11 error cnp-toservices-apiserver CiliumNetworkPolicy web\/api: /,
    );
  });

  it("refuses unknown flags, bad values and unreadable paths with exit code 2, saying which", async () => {
    const unknown = await run(["--frobnicate", "-"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown flag: --frobnicate/);
    assert.equal(unknown.stdout, "");
    const missing = await run([join(fixtures, "no-such-folder")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*no-such-folder: no such file or directory/);
    assert.match((await run(["--output=yaml", "-"])).stderr, /--output: "yaml" is not one of text, json, sarif, junit/);
    assert.match((await run(["--fail-on=sometimes", "-"])).stderr, /--fail-on: "sometimes" is not one of/);
    assert.match((await run([])).stderr, /no input: name files, folders, or - for standard input/);
  });

  it("reads folders recursively: *.yaml, *.yml and *.json, skipping hidden folders and other files", async () => {
    const root = await mkdtemp(join(tmpdir(), "lint-"));
    await mkdir(join(root, "a", "b"), { recursive: true });
    await mkdir(join(root, ".git"));
    await writeFile(join(root, "a", "b", "policy.yml"), error);
    await writeFile(join(root, "a", "proxy.yaml"), warningOnly);
    await writeFile(join(root, "a", "cm.json"), '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j"}}');
    await writeFile(join(root, "a", "notes.txt"), "kind: [broken");
    await writeFile(join(root, ".git", "hidden.yaml"), "kind: [broken");
    const result = await run(["--output=json", root]);
    const document = JSON.parse(result.stdout);
    assert.equal(result.code, 1);
    assert.deepEqual(
      document.findings.map((f: { ruleId: string; file: string }) => `${f.ruleId} ${f.file.slice(root.length + 1)}`),
      ["cnp-toservices-apiserver a/b/policy.yml", "cookie-refresh a/proxy.yaml"],
    );
    assert.equal(document.summary.files, 3);
    await rm(root, { recursive: true });
  });

  it("applies a --lint-config file that turns a rule off and re-grades another", async () => {
    const root = await mkdtemp(join(tmpdir(), "lint-config-"));
    const config = join(root, "lint.yaml");
    await writeFile(config, "rules:\n  cnp-toservices-apiserver: off\n  cookie-refresh: error\n");
    const result = await run([`--lint-config=${config}`, "--output=json", "-"], [`${error}---\n${warningOnly}`]);
    const document = JSON.parse(result.stdout);
    assert.deepEqual(
      document.findings.map((f: { ruleId: string; severity: string }) => `${f.ruleId}=${f.severity}`),
      ["cookie-refresh=error"],
    );
    assert.equal(result.code, 1);
    await writeFile(config, "rules: {no-such-rule: off}\n");
    const bad = await run([`--lint-config=${config}`, "-"], [error]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown rule id "no-such-rule"; known ids: netpol-service-port/);
    await rm(root, { recursive: true });
  });

  it("lints the incident's fixed manifests clean and writes each output format", async () => {
    const folder = join(fixtures, "incident", "fixed");
    for (const output of ["text", "json", "sarif", "junit"]) {
      const result = await run([`--output=${output}`, "--fail-on=info", folder]);
      assert.equal(result.code, 0, output);
      assert.notEqual(result.stdout, "", output);
    }
  });

  it("--help lists every rule id, the annotations and the config format", async () => {
    for (const argv of [["--help"], ["-h", "-"]]) {
      const result = await run(argv);
      assert.equal(result.code, 0);
      for (const rule of allRules) assert.match(result.stdout, new RegExp(`^ {2}${rule.id} `, "m"), rule.id);
      assert.match(result.stdout, /lint\.kube-oidc-gateway\.io\/disable: /);
      assert.match(result.stdout, /lint\.kube-oidc-gateway\.io\/severity: /);
      assert.match(result.stdout, /tokenLifetime: 5m/);
      assert.match(result.stdout, /helm template .* \| kube-oidc-gateway lint -/);
      assert.match(result.stdout, /--output sarif/);
      // Charts and kustomizations are rendered (test/lint/inputs.test.ts); the flags for helm are listed.
      for (const flag of ["--values (-f)", "--set", "--release-name", "--namespace"]) {
        assert.ok(result.stdout.includes(flag), flag);
      }
      assert.match(result.stdout, /'kustomize\s+build' or else 'kubectl kustomize'/);
    }
  });

  it("skips FIFOs in folders instead of hanging, follows symlinked folders once, and says what it skipped", async () => {
    const root = await mkdtemp(join(tmpdir(), "lint-special-"));
    const shared = await mkdtemp(join(tmpdir(), "lint-shared-"));
    await writeFile(join(shared, "policy.yaml"), error);
    await mkdir(join(root, "app"));
    await writeFile(join(root, "app", "proxy.yaml"), warningOnly);
    // A FIFO named like a manifest: reading it would wait for a writer forever.
    execFileSync("mkfifo", [join(root, "app", "pipe.yaml")]);
    await symlink(shared, join(root, "linked"));
    await symlink(root, join(root, "app", "loop"));
    await symlink(join(root, "nowhere"), join(root, "dangling.yaml"));
    const result = await run(["--output=json", root]);
    const document = JSON.parse(result.stdout);
    assert.deepEqual(
      document.findings.map((f: { ruleId: string; file: string }) => `${f.ruleId} ${f.file.slice(root.length + 1)}`),
      ["cookie-refresh app/proxy.yaml", "cnp-toservices-apiserver linked/policy.yaml"],
    );
    assert.match(result.stderr, /skipped .*app\/pipe\.yaml: not a regular file/);
    assert.match(result.stderr, /skipped .*app\/loop: a link to a folder already read/);
    assert.match(result.stderr, /skipped .*dangling\.yaml: a symbolic link to nothing readable/);
    assert.equal(result.code, 1);
    await rm(root, { recursive: true });
    await rm(shared, { recursive: true });
  });

  // Review of issue 20: Chart.yaml was tested with existsSync and read with readFileSync, so a
  // FIFO by that name made lint wait for a writer forever (the same for a kustomization file).
  it("a pipe named Chart.yaml or kustomization.yaml is no chart or kustomization: lint finishes and skips it", {
    timeout: 30_000,
  }, async () => {
    const root = await mkdtemp(join(tmpdir(), "lint-fifo-chart-"));
    for (const [folder, name] of [
      ["chart", "Chart.yaml"],
      ["kustomize", "kustomization.yaml"],
    ] as const) {
      await mkdir(join(root, folder));
      execFileSync("mkfifo", [join(root, folder, name)]);
      await writeFile(join(root, folder, "proxy.yaml"), warningOnly);
    }
    const result = await run(["--output=json", root]);
    assert.equal(result.code, 0, result.stderr);
    const document = JSON.parse(result.stdout);
    // Each folder is walked as plain manifests: its proxy.yaml is read, the pipe skipped with a note.
    assert.deepEqual(
      document.findings.map((f: { ruleId: string; file: string }) => `${f.ruleId} ${f.file.slice(root.length + 1)}`),
      ["cookie-refresh chart/proxy.yaml", "cookie-refresh kustomize/proxy.yaml"],
    );
    assert.match(result.stderr, /skipped .*chart\/Chart\.yaml: not a regular file/);
    assert.match(result.stderr, /skipped .*kustomize\/kustomization\.yaml: not a regular file/);
    await rm(root, { recursive: true });
  });

  // Issue 20: a binary file named .yaml printed one error per "line" with its bytes escaped
  // (160 KB for an image). Read from disk, not handed in as a string: one line, exit 1.
  it("a binary file on disk named .yaml is one unread-input line, exit 1", async () => {
    const root = await mkdtemp(join(tmpdir(), "lint-binary-"));
    const file = join(root, "logo.yaml");
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d]);
    await writeFile(file, Buffer.concat([png, Buffer.alloc(20_000, 0xff), Buffer.from("\n: x\n- y\n")]));
    const result = await run([file]);
    assert.equal(result.code, 1);
    assert.equal(
      result.stdout,
      `${file}\n  ${file}:1:1 error unread-input (document): not a YAML or JSON manifest: a PNG image\n` +
        "      fix: Name manifests (YAML or JSON), chart folders or kustomizations only.\n" +
        "      docs: kube-oidc-gateway explain unread-input\n\n1 error, 0 warnings, 0 infos in 1 file (0 objects)\n",
    );
    await rm(root, { recursive: true });
  });

  it("refuses a file over the size cap with exit code 2 and skips one in a folder with a note", async () => {
    const root = await mkdtemp(join(tmpdir(), "lint-large-"));
    const large = join(root, "huge.yaml");
    await writeFile(large, `# ${"x".repeat(maxInputBytes)}\n`);
    await writeFile(join(root, "small.yaml"), "apiVersion: v1\nkind: ConfigMap\n");
    const named = await run([large]);
    assert.equal(named.code, 2);
    assert.match(named.stderr, /huge\.yaml is larger than 16 MiB, the most lint reads/);
    const folder = await run([root]);
    assert.equal(folder.code, 0);
    assert.match(folder.stderr, /skipped .*huge\.yaml: it is larger than 16 MiB/);
    await rm(root, { recursive: true });
  });

  // Review of issue 20: empty standard input and an empty file passed with "No findings (0
  // objects)", exit 0, so `helm template … | kube-oidc-gateway lint -` without pipefail went green
  // when helm failed (printing nothing).
  it("exits 2 for a folder without manifests; empty standard input or an empty file is one unread-input error, nothing to check", async () => {
    const root = await mkdtemp(join(tmpdir(), "lint-empty-"));
    await writeFile(join(root, "README.md"), "# not a manifest\n");
    const empty = await run([root]);
    assert.equal(empty.code, 2);
    assert.match(
      empty.stderr,
      /no manifests found in .*lint-empty-\w+: it holds no \*\.yaml, \*\.yml or \*\.json file/,
    );
    assert.equal(empty.stdout, "");
    const stdin = await run(["-o", "json", "-"], [""]);
    assert.equal(stdin.code, 1);
    const findings = (out: string) =>
      (
        JSON.parse(out) as { findings: { ruleId: string; severity: string; file: string; message: string }[] }
      ).findings.map((f) => `${f.severity} ${f.ruleId} ${f.file}: ${f.message}`);
    assert.deepEqual(findings(stdin.stdout), [
      "error unread-input <stdin>: nothing to check: no Kubernetes object in standard input",
    ]);
    const file = join(root, "empty.yaml");
    await writeFile(file, "# nothing here\n---\n");
    const emptyFile = await run(["-o", "json", file]);
    assert.equal(emptyFile.code, 1);
    assert.deepEqual(findings(emptyFile.stdout), [
      `error unread-input ${file}: nothing to check: no Kubernetes object in ${file}`,
    ]);
    await rm(root, { recursive: true });
  });

  // Issue 19: `lint -o json` was refused ("unknown shorthand flag"), and a usage error left standard
  // output empty, which `jq` cannot parse.
  it("-o json prints one parseable JSON document on stdout in every case, errors included", async () => {
    const root = await mkdtemp(join(tmpdir(), "lint-json-"));
    await writeFile(join(root, "README.md"), "# not a manifest\n");
    const cases: { argv: string[]; stdin?: string[]; code: number; stderr?: RegExp }[] = [
      { argv: ["-o", "json", "-"], stdin: [error], code: 1 },
      { argv: ["-ojson", "-"], stdin: [warningOnly], code: 0 },
      { argv: ["-o=json", "-"], stdin: ["kind: [\n"], code: 1 },
      { argv: ["-o", "json", "-"], stdin: [""], code: 1 },
      { argv: ["-o", "json", join(fixtures, "incident", "broken")], code: 1 },
      { argv: ["-o", "json", "--frobnicate", "-"], code: 2, stderr: /unknown flag: --frobnicate/ },
      { argv: ["-o", "json", join(fixtures, "no-such-folder")], code: 2, stderr: /cannot read/ },
      { argv: ["-o", "json", root], code: 2, stderr: /no manifests found/ },
      { argv: ["-o", "json", "--fail-on=sometimes", "-"], code: 2, stderr: /--fail-on/ },
      { argv: ["-o", "json", "--docs-base-url=file:///app/docs/", "-"], code: 2, stderr: /not an http\(s\) URL/ },
      { argv: ["-o", "json"], code: 2, stderr: /no input/ },
    ];
    for (const { argv, stdin, code, stderr } of cases) {
      const result = await run(argv, stdin);
      const name = `lint ${argv.join(" ")}`;
      assert.equal(result.code, code, `${name}: ${result.stderr}`);
      let document: { version: number; findings?: unknown[]; error?: { code: string; message: string } };
      try {
        document = JSON.parse(result.stdout);
      } catch (parseError) {
        assert.fail(`${name}: stdout is not JSON (${parseError}):\n${result.stdout}`);
      }
      assert.equal(document.version, 1, name);
      if (code === 2) {
        assert.match(document.error?.code ?? "", /^[A-Z_]+$/, name);
        assert.ok(document.error?.message && result.stderr.includes(document.error.message), name);
      } else {
        assert.ok(Array.isArray(document.findings), name);
      }
      if (stderr) assert.match(result.stderr, stderr, name);
    }
    await rm(root, { recursive: true });
  });

  it("KOG_OUTPUT=json makes a usage error JSON too, and text output keeps stdout empty on one", async () => {
    const viaEnv = await run(["--frobnicate"], [], { KOG_OUTPUT: "json" });
    assert.equal(viaEnv.code, 2);
    assert.equal(JSON.parse(viaEnv.stdout).error.code, "UNKNOWN_FLAG");
    assert.equal((await run(["--frobnicate", "-"])).stdout, "");
    assert.equal((await run(["-o", "sarif", "--frobnicate", "-"])).stdout, "");
  });

  it("--docs-base-url (or KOG_DOCS_BASE_URL) links findings to hosted pages; without it they name explain", async () => {
    const plain = await run(["-o", "json", "-"], [error]);
    assert.equal(JSON.parse(plain.stdout).findings[0].docs, "kube-oidc-gateway explain cnp-toservices-apiserver");
    const linked = await run(["-o", "json", "--docs-base-url=https://example.com/kog/docs", "-"], [error]);
    assert.equal(
      JSON.parse(linked.stdout).findings[0].docs,
      "https://example.com/kog/docs/lint/cnp-toservices-apiserver.md",
    );
    const sarif = await run(["-o", "sarif", "-"], [error], { KOG_DOCS_BASE_URL: "https://example.com/kog/docs/" });
    assert.equal(sarif.code, 1);
    for (const rule of JSON.parse(sarif.stdout).runs[0].tool.driver.rules) {
      assert.equal(rule.helpUri, `https://example.com/kog/docs/lint/${rule.id}.md`);
    }
    const text = await run(["-"], [error]);
    assert.match(text.stdout, /^ {6}docs: kube-oidc-gateway explain cnp-toservices-apiserver$/m);
  });
});
