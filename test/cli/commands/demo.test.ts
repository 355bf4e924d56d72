// `demo --once` is the README's first command in CI form: the whole chain, each step checked.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runCli } from "../../helpers/run-cli.ts";

describe("kube-oidc-gateway demo", { timeout: 600_000 }, () => {
  it("--once walks through the chain and every step behaves as expected", async () => {
    const run = await runCli(["demo", "--once"]);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /no OIDC configured/);
    assert.match(run.stdout, /error: You must be logged in to the server \(Unauthorized\)\n {2}✓ refused/);
    assert.match(run.stdout, /Username {4}oidc:jane@example\.com/);
    assert.match(run.stdout, /hello +1 /);
    assert.match(run.stdout, /Error from server \(Forbidden\): secrets is forbidden/);
    assert.match(run.stdout, /\d+ passed, 0 warned, 0 failed/);
    assert.match(run.stdout, /Every step behaved as expected\./);
    assert.doesNotMatch(run.stdout, /✗/);
  });

  it("refuses unknown options", async () => {
    const run = await runCli(["demo", "--twice"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /Unknown option '--twice'/);
  });
});
