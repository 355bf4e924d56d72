// The identity the user's requests run as: the gateway's or API server's own answer
// (SelfSubjectReview) when it authenticates the token, else what the configuration derives.
import type { DoctorContext, UserDecision } from "../context.ts";
import { isUnavailable } from "../context.ts";

export interface KnownIdentity {
  readonly username: string;
  readonly groups: readonly string[];
  /** How it was learnt, for evidence. */
  readonly source: string;
}

export async function userIdentity(context: DoctorContext): Promise<KnownIdentity | { unknown: string }> {
  const review = await context.selfSubjectReview(context.userPath());
  if (!isUnavailable(review) && review.status === 201 && review.user) return fromReview(review);
  const verdict = await context.verdict();
  if (isUnavailable(verdict)) return { unknown: verdict.unavailable };
  if (!verdict.accepted || !verdict.user) {
    return { unknown: `the token is refused (${verdict.refusal?.code}): ${verdict.refusal?.message}` };
  }
  return {
    username: verdict.user.username,
    groups: verdict.user.groups,
    source: "derived locally from the configuration",
  };
}

function fromReview(review: UserDecision): KnownIdentity {
  // kube-apiserver adds system:authenticated itself; it is never what a binding was written for.
  const groups = (review.user?.groups ?? []).filter((g) => g !== "system:authenticated");
  return { username: review.user?.username ?? "", groups, source: `SelfSubjectReview through ${review.via}` };
}
