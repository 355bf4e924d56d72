// Differential for the identities the gateway forwards by impersonation: kube-apiserver started
// with --oidc-* flags that map `sub` to the username without prefix (so a token can name any
// identity, system: ones included), the gateway with the same flags and --allow-system-identities.
// A SelfSubjectReview directly and through the gateway must show the same identity, or the
// gateway must refuse, as one of its documented deviations (docs/serve.md, "Where the gateway
// deliberately differs from kube-apiserver"), an identity kube-apiserver's impersonation filter
// would change (k8s.io/apiserver@v0.37.2 pkg/endpoints/filters/impersonation) or that a header
// cannot carry; the `token` command must then name the deviation.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type BedIssuers, startTestBed, type TestBed } from "../../testbed/bed.ts";
import { prepareGatewayCredentials, type RunningGateway, startTestGateway } from "../../testbed/gateway.ts";
import { waitFor } from "../../testbed/http.ts";
import { clients } from "../../testbed/issuer/oidc-provider.ts";
import { type Decision, selfSubjectReview } from "../helpers/kubectl-identity.ts";
import { runCli } from "../helpers/run-cli.ts";
import { assertTokenCommandAgrees, tokenCommandVerdict } from "../helpers/token-verdict.ts";

const flags = (iss: string) => [
  `--oidc-issuer-url=${iss}`,
  `--oidc-client-id=${clients.kubernetes.id}`,
  "--oidc-username-claim=sub",
  "--oidc-username-prefix=-",
  "--oidc-groups-claim=groups",
];

interface Claims {
  readonly sub: string;
  readonly groups?: unknown;
  readonly jti?: string;
}

/** Tokens kube-apiserver and the gateway must decide alike, with the same identity. */
const agreed: [string, Claims][] = [
  ["a ServiceAccount username with groups of its own", { sub: "system:serviceaccount:default:sa1", groups: ["g"] }],
  ["a ServiceAccount-like username SplitUsername rejects", { sub: "system:serviceaccount:Bad:sa1" }],
  ["a ServiceAccount-like username with three parts", { sub: "system:serviceaccount:a:b:c" }],
  ["a node username with groups", { sub: "system:node:n1", groups: ["g"] }],
  ["a node username with an extra (jti)", { sub: "system:node:n1", jti: "j-1" }],
  ["a node-like username that is no DNS subdomain", { sub: "system:node:N_1" }],
  ["system:anonymous with system:unauthenticated", { sub: "system:anonymous", groups: ["system:unauthenticated"] }],
  ["system:unauthenticated in the groups (both 403)", { sub: "jane", groups: ["system:unauthenticated"] }],
  ["system:authenticated in the groups", { sub: "jane", groups: ["system:authenticated"] }],
  ["system:masters as a username", { sub: "system:masters" }],
  ["an empty group", { sub: "jane", groups: [""] }],
  ["a tab inside the username", { sub: "ja\tne" }],
  ["non-ASCII username and group", { sub: "zoë", groups: ["ü", "日本"] }],
  ["duplicate groups", { sub: "jane", groups: ["g", "g"] }],
  ["a comma inside a group", { sub: "jane", groups: ["a,b"] }],
];

/** Tokens kube-apiserver accepts and the gateway refuses on purpose: [name, claims, code, deviation]. */
const deviating: [string, Claims, string, RegExp][] = [
  [
    "a ServiceAccount username without groups (impersonation added system:serviceaccounts groups)",
    { sub: "system:serviceaccount:default:sa1" },
    "UNFORWARDABLE_IDENTITY",
    /impersonation would give more groups/,
  ],
  [
    "a ServiceAccount username with an empty groups claim",
    { sub: "system:serviceaccount:kube-system:sa1", groups: [] },
    "UNFORWARDABLE_IDENTITY",
    /impersonation would give more groups/,
  ],
  [
    "a node username alone (constrained impersonation may add system:nodes)",
    { sub: "system:node:n1" },
    "UNFORWARDABLE_IDENTITY",
    /impersonation would give more groups/,
  ],
  [
    "system:anonymous with system:authenticated (impersonation added system:unauthenticated)",
    { sub: "system:anonymous", groups: ["system:authenticated"] },
    "UNFORWARDABLE_IDENTITY",
    /impersonation would give more groups/,
  ],
  [
    "system:anonymous without groups (impersonation added system:unauthenticated; kube-apiserver's 403 is authorization's)",
    { sub: "system:anonymous" },
    "UNFORWARDABLE_IDENTITY",
    /impersonation would give more groups/,
  ],
  ["a leading blank in the username", { sub: " jane" }, "UNSAFE_IDENTITY", /a header cannot carry/],
  ["a trailing blank in the username", { sub: "jane " }, "UNSAFE_IDENTITY", /a header cannot carry/],
  ["a line break in the username", { sub: "ja\nne" }, "UNSAFE_IDENTITY", /a header cannot carry/],
  ["a leading blank in a group", { sub: "jane", groups: [" g"] }, "UNSAFE_IDENTITY", /a header cannot carry/],
  ["a control character in a group", { sub: "jane", groups: ["g\u0001"] }, "UNSAFE_IDENTITY", /a header cannot carry/],
  ["DEL in the username", { sub: "ja\u007fne" }, "UNSAFE_IDENTITY", /a header cannot carry/],
];

describe("differential: identities forwarded by impersonation (--allow-system-identities)", {
  timeout: 600_000,
}, () => {
  let bed: TestBed;
  let gateway: RunningGateway;
  /** The same gateway without --allow-system-identities. */
  let strict: RunningGateway;
  let tokenFlags: string[];
  const mint = ({ sub, groups, jti }: Claims) =>
    bed.mint({
      alg: "RS256",
      kid: "rsa-1",
      claims: {
        iss: bed.issuer.url,
        aud: clients.kubernetes.id,
        sub,
        exp: Math.floor(Date.now() / 1000) + 300,
        ...(groups === undefined ? {} : { groups }),
        ...(jti === undefined ? {} : { jti }),
      },
    });
  const decide = async (token: string): Promise<{ oracle: Decision; through: Decision }> => ({
    oracle: await selfSubjectReview(bed.apiServer?.url ?? "", bed.ca.certPem, token),
    through: await selfSubjectReview(gateway.url, bed.ca.certPem, token),
  });

  before(async () => {
    bed = await startTestBed({
      oidcFlags: ({ oidcProvider, caFile }: BedIssuers & { caFile: string }) => [
        ...flags(oidcProvider.url),
        `--oidc-ca-file=${caFile}`,
      ],
    });
    tokenFlags = [...flags(bed.issuer.url), `--oidc-ca-file=${bed.dir}/ca.crt`, "--allow-system-identities"];
    gateway = await startTestGateway(await prepareGatewayCredentials(bed), [
      ...flags(bed.issuer.url),
      "--allow-system-identities",
    ]);
    strict = await startTestGateway(await prepareGatewayCredentials(bed), flags(bed.issuer.url));
    for (const g of [gateway, strict]) {
      await waitFor("the gateway's readiness", async () => (await fetch(`${g.healthUrl}/readyz`)).status === 200, {
        timeoutMs: 30_000,
      });
    }
    await waitFor(
      "kube-apiserver's OIDC authenticator",
      async () =>
        (await selfSubjectReview(bed.apiServer?.url ?? "", bed.ca.certPem, mint({ sub: "ready" }))).status === 201,
      { timeoutMs: 30_000 },
    );
  });
  after(async () => {
    await strict?.gateway.stop();
    await gateway?.gateway.stop();
    await bed?.stop();
  });

  for (const [name, claims] of agreed) {
    it(`agrees: ${name}`, async () => {
      const token = mint(claims);
      const { oracle, through } = await decide(token);
      assert.ok([201, 403].includes(oracle.status), `kube-apiserver answered ${oracle.status}: ${oracle.body}`);
      assert.deepEqual(through, oracle);
      if (oracle.status === 201) await assertTokenCommandAgrees(tokenFlags, token, oracle);
    });
  }

  for (const [name, claims, code, deviation] of deviating) {
    it(`deviates on purpose: ${name}`, async () => {
      const token = mint(claims);
      const { oracle, through } = await decide(token);
      // Authenticated either way: a 403 is RBAC's answer to an identity without system:authenticated.
      assert.ok([201, 403].includes(oracle.status), `kube-apiserver answered ${oracle.status}: ${oracle.body}`);
      assert.equal(through.status, 401, `the gateway forwarded it: ${through.status} ${JSON.stringify(through.user)}`);
      // `token` says what kube-apiserver would decide, and that the gateway refuses it.
      if (oracle.status === 201) {
        assert.equal(oracle.user?.username ?? "", claims.sub); // omitempty drops ""
        await assertTokenCommandAgrees(tokenFlags, token, oracle);
      }
      const report = await tokenCommandVerdict(tokenFlags, token);
      assert.equal(report.verdict?.accepted, true);
      assert.equal(report.verdict?.user?.username, claims.sub);
      const refusal = (report.verdict as { gatewayRefusal?: { code: string; deviation?: string } }).gatewayRefusal;
      assert.equal(refusal?.code, code);
      assert.match(refusal?.deviation ?? "", deviation);
    });
  }

  it("names the deviation in the text report", async () => {
    const run = await runCli(["token", ...tokenFlags], { stdin: mint({ sub: "system:serviceaccount:default:sa1" }) });
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      /kube-apiserver would accept this token as system:serviceaccount:default:sa1, but the gateway refuses it \[UNFORWARDABLE_IDENTITY\]: .*system:serviceaccounts:default/,
    );
    assert.match(run.stdout, /a deliberate difference: identities impersonation would give more groups are refused/);
    const blank = await runCli(["token", ...tokenFlags], { stdin: mint({ sub: "jane", groups: ["g\n"] }) });
    assert.match(blank.stdout, /but the gateway refuses it \[UNSAFE_IDENTITY\]: .*the group "g\\n" cannot travel/);
  });

  it("why node usernames are refused: an impersonator allowed constrained impersonation makes them system:nodes", async () => {
    // The bed's admin may do everything, impersonate:arbitrary-node included (mode.go).
    const run = await bed.kubectl(["auth", "whoami", "-o", "json", "--as=system:node:n1"]);
    assert.equal(run.code, 0, run.stderr);
    const groups = JSON.parse(run.stdout).status.userInfo.groups as string[];
    assert.ok(groups.includes("system:nodes"), `groups: ${JSON.stringify(groups)}`);
  });

  const policyCases: [string, Claims, string, RegExp][] = [
    [
      "a system: username without --allow-system-identities",
      { sub: "system:masters" },
      "SYSTEM_IDENTITY",
      /system: identities are refused unless --allow-system-identities/,
    ],
    [
      "a system: group without --allow-system-identities",
      { sub: "jane", groups: ["g", "system:masters"] },
      "SYSTEM_IDENTITY",
      /system: identities are refused unless --allow-system-identities/,
    ],
    ["an empty username", { sub: "" }, "EMPTY_USERNAME", /an empty username is refused/],
  ];
  for (const [name, claims, code, deviation] of policyCases) {
    it(`deviates on purpose: ${name}`, async () => {
      const token = mint(claims);
      const oracle = await selfSubjectReview(bed.apiServer?.url ?? "", bed.ca.certPem, token);
      assert.equal(oracle.status, 201, `kube-apiserver answered ${oracle.status}: ${oracle.body}`);
      assert.equal(oracle.user?.username ?? "", claims.sub); // omitempty drops ""
      assert.equal((await selfSubjectReview(strict.url, bed.ca.certPem, token)).status, 401);
      const strictFlags = tokenFlags.filter((f) => f !== "--allow-system-identities");
      // The SelfSubjectReview leaves an empty username out (omitempty); `token` shows it as "".
      const user = oracle.user && { ...oracle.user, username: oracle.user.username ?? "" };
      await assertTokenCommandAgrees(strictFlags, token, { ...oracle, user });
      const report = await tokenCommandVerdict(strictFlags, token);
      const refusal = (report.verdict as { gatewayRefusal?: { code: string; deviation?: string } }).gatewayRefusal;
      assert.equal(refusal?.code, code);
      assert.match(refusal?.deviation ?? "", deviation);
    });
  }

  it("deviates on purpose: kube-apiserver keeps a success for 10 s past exp, the gateway stops at exp", async () => {
    // kube-apiserver caches successful token authentications for TokenSuccessCacheTTL, 10 s
    // (k8s.io/kubernetes@v1.37.2 pkg/kubeapiserver/options/authentication.go and
    // pkg/kubeapiserver/authenticator/config.go; k8s.io/apiserver@v0.37.2
    // pkg/authentication/token/cache/cached_token_authenticator.go sets that TTL whatever exp says).
    const exp = Math.floor(Date.now() / 1000) + 3;
    const token = bed.mint({
      alg: "RS256",
      kid: "rsa-1",
      claims: { iss: bed.issuer.url, aud: clients.kubernetes.id, sub: "short-lived", exp },
    });
    const first = await decide(token);
    assert.equal(first.oracle.status, 201);
    assert.deepEqual(first.through, first.oracle);
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, exp * 1000 + 1_000 - Date.now()));
    const second = await decide(token);
    assert.ok(Date.now() - started < 9_000, "too slow to stay inside kube-apiserver's 10 s");
    assert.equal(second.oracle.status, 201, "kube-apiserver no longer had the token cached");
    assert.equal(second.through.status, 401, "the gateway kept the identity past exp");
    // The same claims in a token kube-apiserver has not seen: refused, so the 201 above was its cache.
    const unseen = bed.mint({
      alg: "RS256",
      kid: "rsa-1",
      claims: { iss: bed.issuer.url, aud: clients.kubernetes.id, sub: "short-lived", exp, jti: "unseen" },
    });
    assert.equal((await selfSubjectReview(bed.apiServer?.url ?? "", bed.ca.certPem, unseen)).status, 401);
  });
});
