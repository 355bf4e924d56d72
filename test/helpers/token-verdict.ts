// The `token` command's decision on a token, in the shape of a SelfSubjectReview, so the
// differential tests hold it against kube-apiserver's own decision next to the gateway's.
import assert from "node:assert/strict";
import type { Decision } from "./kubectl-identity.ts";
import { runCli } from "./run-cli.ts";

/** Runs `kube-oidc-gateway token <flags> --output=json` with the token on stdin. */
export async function tokenCommandVerdict(flags: readonly string[], token: string) {
  const run = await runCli(["token", ...flags, "--output=json"], { stdin: token });
  assert.ok(run.code === 0 || run.code === 1, `token exited ${run.code}: ${run.stderr}`);
  const report = JSON.parse(run.stdout) as {
    error?: { code: string };
    verdict?: { accepted: boolean; user?: Decision["user"]; refusal?: { code: string } };
  };
  assert.equal(run.code === 0, report.verdict?.accepted === true, "the exit code disagrees with the verdict");
  return report;
}

/**
 * Asserts the `token` command decided as kube-apiserver did: both refuse, or both accept with the
 * same identity. kube-apiserver adds system:authenticated to every authenticated user
 * (k8s.io/apiserver pkg/authentication/group/authenticated_group_adder.go); `token` shows the
 * identity before that step.
 */
export async function assertTokenCommandAgrees(flags: readonly string[], token: string, oracle: Decision) {
  const report = await tokenCommandVerdict(flags, token);
  const accepted = report.verdict?.accepted === true;
  assert.equal(
    accepted,
    oracle.status === 201,
    `token ${accepted ? "accepted" : `refused (${report.verdict?.refusal?.code ?? report.error?.code})`}, kube-apiserver answered ${oracle.status}`,
  );
  if (!accepted || !oracle.user) return;
  const user = report.verdict?.user;
  const groups = [...(user?.groups ?? [])];
  if (!groups.includes("system:authenticated")) groups.push("system:authenticated");
  assert.deepEqual(
    { username: user?.username, uid: user?.uid, groups, extra: user?.extra ?? {} },
    {
      // A SelfSubjectReview omits an empty username (omitempty).
      username: oracle.user.username ?? "",
      uid: oracle.user.uid,
      groups: oracle.user.groups ?? [],
      extra: oracle.user.extra ?? {},
    },
  );
}
