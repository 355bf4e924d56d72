// One exit-code convention for every command (issue 19): 0 success, 1 findings or failures, 2 usage
// errors, said in each command's --help. doctor exited 3 for usage errors and 2 for a failed check.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { commands } from "../../../src/cli/main.ts";
import { runCli } from "../../helpers/run-cli.ts";

const convention = /0 success, 1 findings or failures, 2 usage errors/;

const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
/** An unsigned JWT expiring in `seconds`: token-decode reads it, token-expiry judges its exp. */
function jwt(seconds: number): string {
  const now = Math.floor(Date.now() / 1000);
  return [
    part({ alg: "RS256", typ: "JWT" }),
    part({ iss: "https://issuer.invalid", aud: "kubernetes", sub: "jane", iat: now, exp: now + seconds }),
    "c2ln",
  ].join(".");
}

describe("exit codes: 0 success, 1 findings or failures, 2 usage errors", () => {
  let dir: string;
  let tokens: { valid: string; expiring: string; garbage: string };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "exit-codes-"));
    tokens = { valid: join(dir, "valid"), expiring: join(dir, "expiring"), garbage: join(dir, "garbage") };
    await writeFile(tokens.valid, `${jwt(3600)}\n`);
    await writeFile(tokens.expiring, `${jwt(30)}\n`);
    await writeFile(tokens.garbage, "not-a-token\n");
  });
  after(async () => {
    await rm(dir, { recursive: true });
  });

  it("every command's --help states the convention and its own meaning of each code", async () => {
    // serve runs until stopped: its exit status is the graceful stop's, documented in docs/serve.md.
    const names = commands.map((c) => c.name).filter((name) => name !== "serve");
    assert.deepEqual(names, ["token", "doctor", "lint", "demo", "explain"]);
    for (const name of names) {
      const run = await runCli([name, "--help"]);
      assert.equal(run.code, 0, name);
      assert.match(run.stdout, /^Exit status: /m, name);
      assert.match(run.stdout.replaceAll("\n", " "), convention, name);
    }
  });

  it("usage errors exit 2 in every command, doctor included (it exited 3)", async () => {
    const usage: string[][] = [
      ["nonsense-command"],
      ["lint", "--frobnicate", "-"],
      ["lint"],
      ["doctor", "--frobnicate"],
      ["doctor", "--only=nonsense"],
      ["doctor", "--output=yaml"],
      ["doctor", "--can-i=list"],
      ["doctor", "--docs-base-url=/app/docs"],
      ["doctor", jwt(60)],
      ["token", "--frobnicate"],
      ["token", jwt(60)],
      ["token", "--output=yaml"],
      ["demo", "--frobnicate"],
      ["explain"],
      ["explain", "nonsense"],
    ];
    for (const argv of usage) {
      const run = await runCli(argv);
      assert.equal(run.code, 2, `${argv.join(" ")}: ${run.stderr}`);
      assert.notEqual(run.stderr, "", argv.join(" "));
    }
  });

  it("doctor: 0 when every check passed, 1 when one failed or warned", async () => {
    const doctor = (file: string, only: string) =>
      runCli(["doctor", "--kubeconfig=/nonexistent", `--only=${only}`, `--token-file=${file}`, "-o", "json"]);
    const passed = await doctor(tokens.valid, "token-decode,token-expiry");
    assert.equal(passed.code, 0, passed.stdout);
    assert.equal(JSON.parse(passed.stdout).worst, "pass");
    const failed = await doctor(tokens.garbage, "token-decode");
    assert.equal(failed.code, 1, failed.stdout);
    assert.equal(JSON.parse(failed.stdout).worst, "fail");
    const warned = await doctor(tokens.expiring, "token-expiry");
    assert.equal(warned.code, 1, warned.stdout);
    assert.equal(JSON.parse(warned.stdout).worst, "warn");
  });

  it("doctor names the explain command, not a file: URL, and the page's URL under --docs-base-url", async () => {
    const args = ["doctor", "--kubeconfig=/nonexistent", "--only=token-decode", `--token-file=${tokens.garbage}`];
    const text = await runCli(args);
    assert.match(text.stdout, /^ {6}docs: kube-oidc-gateway explain token-decode$/m);
    assert.doesNotMatch(text.stdout, /file:/);
    const json = await runCli([...args, "-o", "json"]);
    assert.equal(JSON.parse(json.stdout).results[0].docs, "kube-oidc-gateway explain token-decode");
    const base = "--docs-base-url=https://example.com/kog/docs";
    const linked = await runCli([...args, base, "-o", "json"]);
    assert.equal(JSON.parse(linked.stdout).results[0].docs, "https://example.com/kog/docs/doctor/token-decode.md");
    const linkedText = await runCli([...args, base]);
    assert.match(
      linkedText.stdout,
      /^ {6}docs: kube-oidc-gateway explain token-decode \(https:\/\/example\.com\/kog\/docs\/doctor\/token-decode\.md\)$/m,
    );
  });

  it("token: 1 when the token is not readable, 2 when there is none", async () => {
    const unreadable = await runCli(["token", "-o", "json", `--token-file=${tokens.garbage}`]);
    assert.equal(unreadable.code, 1);
    assert.equal(JSON.parse(unreadable.stdout).error.code, "NOT_A_JWT");
    assert.equal((await runCli(["token", `--token-file=${join(dir, "missing")}`])).code, 2);
  });

  it("lint: 0 without findings at --fail-on, 1 with", async () => {
    const configMap = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n";
    assert.equal((await runCli(["lint", "-"], { stdin: configMap })).code, 0);
    assert.equal((await runCli(["lint", "-"], { stdin: "kind: [\n" })).code, 1);
  });
});
