// `token` as a user runs it: against the test bed's oidc-provider (no API server needed: the
// agreement with kube-apiserver's decisions is in test/authn/differential*.test.ts).
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startTestBed, type TestBed } from "../../../testbed/bed.ts";
import { clients } from "../../../testbed/issuer/oidc-provider.ts";
import { runCli } from "../../helpers/run-cli.ts";

describe("kube-oidc-gateway token", { timeout: 120_000 }, () => {
  let bed: TestBed;
  let jane: string;
  let caFile: string;
  let flags: string[];

  before(async () => {
    bed = await startTestBed({ kubeApiServer: false });
    caFile = join(bed.dir, "ca.crt");
    jane = (await bed.login("jane")).idToken;
    flags = [
      `--oidc-issuer-url=${bed.issuer.url}`,
      `--oidc-client-id=${clients.kubernetes.id}`,
      "--oidc-username-claim=email",
      "--oidc-groups-claim=groups",
      "--oidc-groups-prefix=oidc:",
      `--oidc-ca-file=${caFile}`,
    ];
  });
  after(async () => {
    await bed?.stop();
  });

  const now = () => Math.floor(Date.now() / 1000);
  const mint = (claims: Record<string, unknown>) =>
    bed.mint({
      alg: "RS256",
      kid: "rsa-1",
      claims: {
        iss: bed.issuer.url,
        aud: clients.kubernetes.id,
        sub: "m-1",
        email: "m@example.com",
        email_verified: true,
        iat: now(),
        exp: now() + 300,
        ...claims,
      },
    });

  it("shows header, claims with relative times and the identity, never the token", async () => {
    const run = await runCli(["token", ...flags], { stdin: `${jane}\n` });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Header\n {2}alg +RS256/m);
    assert.match(run.stdout, /^ {2}exp +\d+ {2}\d{4}-\d\d-\d\dT[\d:.]+Z {2}\(in \d+m\d*s?\)/m);
    assert.match(run.stdout, /^ {2}iat +\d+ .*\((now|\d+s ago)\)/m);
    assert.match(
      run.stdout,
      /ACCEPTED: kube-apiserver would authenticate this token as\n {2}username +jane@example\.com/,
    );
    assert.match(run.stdout, /groups +oidc:developers, oidc:viewers/);
    assert.match(run.stdout, /Issuer: discovery document and signing keys fetched/);
    assert.ok(!run.stdout.includes(jane) && !run.stdout.includes(jane.split(".")[2] ?? "-"), "the token was printed");
  });

  it("reads the token from a file or an environment variable, with or without Bearer", async () => {
    const file = join(bed.dir, "jane.token");
    await writeFile(file, `Bearer ${jane}`);
    assert.equal((await runCli(["token", ...flags, `--token-file=${file}`])).code, 0);
    const fromEnv = await runCli(["token", ...flags, "--token-env=ID_TOKEN", "--output=json"], {
      env: { ID_TOKEN: jane },
    });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    const report = JSON.parse(fromEnv.stdout);
    assert.equal(report.verdict.accepted, true);
    assert.equal(report.verdict.user.username, "jane@example.com");
    assert.deepEqual(report.verdict.user.groups, ["oidc:developers", "oidc:viewers"]);
    assert.equal(report.token.claims.email, "jane@example.com");
    assert.ok(!fromEnv.stdout.includes(jane));
  });

  it("refuses a token given as an argument, without echoing it", async () => {
    const run = await runCli(["token", ...flags, jane]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /shell history/);
    assert.ok(!run.stderr.includes(jane));
  });

  it("names the failed check and the fix: wrong audience", async () => {
    const run = await runCli(["token", ...flags], { stdin: mint({ aud: "other-app" }) });
    assert.equal(run.code, 1);
    assert.match(run.stdout, /REFUSED by the audience \(aud\) check \[WRONG_AUDIENCE\]/);
    assert.match(run.stdout, /oidc: expected audience "kubernetes" got \["other-app"\]/);
    assert.match(run.stdout, /fix: .*Audience/);
  });

  it("names the failed check and the fix: expired, with how long ago", async () => {
    const run = await runCli(["token", ...flags], { stdin: mint({ iat: now() - 600, exp: now() - 120 }) });
    assert.equal(run.code, 1);
    assert.match(run.stdout, /\[EXPIRED\]/);
    assert.match(run.stdout, /^ {2}exp .*\(2m(\d+s)? ago\)/m);
  });

  it("explains an issuer whose CA is not given as a TLS failure", async () => {
    const withoutCa = flags.filter((f) => !f.startsWith("--oidc-ca-file"));
    const run = await runCli(["token", ...withoutCa], { stdin: jane });
    assert.equal(run.code, 1);
    assert.match(run.stdout, /Issuer: discovery failed: TLS: .*the CA given for the issuer does not verify/);
    assert.match(run.stdout, /\[ISSUER_NOT_READY\]/);
  });

  it("spots an issuer URL that differs only by a trailing slash", async () => {
    const slash = flags.map((f) => (f.startsWith("--oidc-issuer-url=") ? `${f}/` : f));
    const run = await runCli(["token", ...slash], { stdin: jane });
    assert.equal(run.code, 1);
    assert.match(run.stdout, /\[UNKNOWN_ISSUER\]/);
    assert.match(run.stdout, /differ only by case or a trailing slash/);
  });

  it("without a configuration, verifies against the token's own issuer and notes the default prefix", async () => {
    const run = await runCli(["token", `--oidc-ca-file=${caFile}`], { stdin: jane });
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /Configuration: inferred from the token/);
    assert.match(run.stdout, new RegExp(`username +${bed.issuer.url.replaceAll(".", "\\.")}#jane-0001`));
    assert.match(run.stdout, /default prefix/);
  });

  it("notes a missing groups claim and Keycloak-style group paths", async () => {
    const noGroups = await runCli(["token", ...flags], { stdin: mint({}) });
    assert.match(noGroups.stdout, /the groups claim "groups" is not in the token/);
    const paths = await runCli(["token", ...flags], { stdin: mint({ groups: ["/team-a"] }) });
    assert.match(paths.stdout, /are full paths/);
  });

  it("escapes hostile claim values instead of writing them to the terminal", async () => {
    const run = await runCli(["token", ...flags], { stdin: mint({ name: "evil\u001b[2J\u202egnp.exe" }) });
    assert.ok(!run.stdout.includes("\u001b"));
    assert.ok(!run.stdout.includes("\u202e"));
    assert.match(run.stdout, /\\u001b\[2J\\u202egnp\.exe/);
  });

  it("says what a non-JWT is", async () => {
    const run = await runCli(["token", ...flags], { stdin: "ya29.opaque-access-token" });
    assert.equal(run.code, 1);
    assert.match(run.stdout, /\[NOT_A_JWT\]/);
  });

  it("rejects usage errors with exit 2", async () => {
    assert.equal((await runCli(["token", "--output=yaml"], { stdin: jane })).code, 2);
    assert.equal((await runCli(["token", "--token-env=NOPE"])).code, 2);
    assert.equal((await runCli(["token", "--oidc-issuer-urll=x"], { stdin: jane })).code, 2);
  });
});
