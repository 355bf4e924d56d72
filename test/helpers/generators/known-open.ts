// Known-open discrepancies: shapes of token the generated differential suite
// (test/authn/generated/tokens.test.ts) keeps out of its generators while the family that owns
// them is not fixed yet, so CI stays green and the gap stays visible. Each names its entry in
// the findings of issue 16; remove an exclusion as soon as its family agrees with kube-apiserver.
import type fc from "fast-check";
import type { TokenCase } from "./token-case.ts";

export interface KnownOpen {
  readonly name: string;
  /** The findings entry (issue 16) that describes it. */
  readonly finding: string;
  readonly excludes: (testCase: TokenCase) => boolean;
}

export const knownOpen: readonly KnownOpen[] = [];

/** `arbitrary` without the known-open shapes. */
export function excludeKnownOpen(arbitrary: fc.Arbitrary<TokenCase>): fc.Arbitrary<TokenCase> {
  if (knownOpen.length === 0) return arbitrary;
  return arbitrary.filter((testCase) => !knownOpen.some((open) => open.excludes(testCase)));
}
