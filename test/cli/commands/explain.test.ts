// `kube-oidc-gateway explain`: every doctor check and lint rule (the registries, looped over) has
// its page printed as shipped; an unknown id is a usage error naming the closest ids.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { closestIds, explainPages } from "../../../src/cli/commands/explain.ts";
import { docsPath } from "../../../src/docs/links.ts";
import { checks } from "../../../src/doctor/checks/index.ts";
import { allRules } from "../../../src/lint/rules/index.ts";
import { runCli } from "../../helpers/run-cli.ts";

const doctorIds = checks.map((c) => c.id);
const lintIds = allRules.map((r) => r.id);

describe("kube-oidc-gateway explain", () => {
  for (const [section, ids] of [
    ["doctor", doctorIds],
    ["lint", lintIds],
  ] as const) {
    for (const id of ids) {
      it(`prints the ${section} page of ${id} as shipped, exit 0`, async () => {
        const run = await runCli(["explain", id]);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stderr, "");
        assert.equal(run.stdout, readFileSync(docsPath(section, id), "utf8"));
        assert.match(run.stdout, new RegExp(`^# ${id}\\b`));
      });
    }
  }

  it("knows exactly the ids of the registries, none in both sections", () => {
    const pages = explainPages();
    assert.deepEqual(
      pages.filter((p) => p.section === "doctor").map((p) => p.id),
      [...doctorIds].sort(),
    );
    assert.deepEqual(
      pages.filter((p) => p.section === "lint").map((p) => p.id),
      [...lintIds].sort(),
    );
    assert.deepEqual(
      doctorIds.filter((id) => lintIds.includes(id)),
      [],
    );
  });

  it("--list names every id with what it is", async () => {
    const run = await runCli(["explain", "--list"]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split("\n");
    assert.equal(lines.length, doctorIds.length + lintIds.length);
    assert.match(run.stdout, /^netpath +doctor check: issuer, API server and gateway are reachable from here$/m);
    assert.match(run.stdout, /^netpol-service-port +lint rule$/m);
    for (const id of [...doctorIds, ...lintIds]) assert.match(run.stdout, new RegExp(`^${id} `, "m"));
  });

  it("refuses an unknown id with exit 2, naming the closest ids on stderr and nothing on stdout", async () => {
    const typo = await runCli(["explain", "netpth"]);
    assert.equal(typo.code, 2);
    assert.equal(typo.stdout, "");
    assert.match(typo.stderr, /no check or rule "netpth"; did you mean netpath\?/);
    const prefix = await runCli(["explain", "token"]);
    assert.equal(prefix.code, 2);
    assert.match(prefix.stderr, /did you mean token-decode, token-expiry, token-verify\?/);
    const far = await runCli(["explain", "../../package.json"]);
    assert.equal(far.code, 2);
    assert.equal(far.stdout, "");
    assert.doesNotMatch(far.stderr, /did you mean/);
    assert.match(far.stderr, /explain --list/);
  });

  it("refuses no id, two ids, --list with an id and an unknown option with exit 2", async () => {
    for (const argv of [[], ["netpath", "whoami"], ["--list", "netpath"], ["--bogus"]]) {
      const run = await runCli(["explain", ...argv]);
      assert.equal(run.code, 2, `explain ${argv.join(" ")}`);
      assert.equal(run.stdout, "");
      assert.match(run.stderr, /^kube-oidc-gateway explain: .*\nRun 'kube-oidc-gateway explain --help' for usage\.\n$/);
    }
  });

  it("--help teaches: examples, --list, --docs-base-url and the exit status", async () => {
    const run = await runCli(["explain", "--help"]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^Usage: kube-oidc-gateway explain <check-or-rule-id>$/m);
    assert.match(run.stdout, /kube-oidc-gateway explain netpath +# a doctor check/);
    assert.match(run.stdout, /--list/);
    assert.match(run.stdout, /--docs-base-url/);
    assert.match(run.stdout, /0 success, 1 findings or failures, 2 usage errors/);
  });

  it("closestIds prefers ids containing the text, then small edit distances to the id or one of its words", () => {
    assert.deepEqual(closestIds("issuer", doctorIds), ["issuer-tls"]);
    assert.deepEqual(closestIds("whoamy", doctorIds), ["whoami"]);
    assert.deepEqual(closestIds("tokn", doctorIds), ["token-decode", "token-expiry", "token-verify"]);
    assert.deepEqual(closestIds("netpol-servce-port", lintIds), ["netpol-service-port"]);
    assert.deepEqual(closestIds("zzzzzzzz", doctorIds), []);
  });
});
