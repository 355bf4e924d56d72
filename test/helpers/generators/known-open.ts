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

/** Every string inside a JSON text (none when it does not parse). */
function stringsIn(text: string): string[] {
  const out: string[] = [];
  const walk = (value: unknown) => {
    if (typeof value === "string") out.push(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === "object") Object.values(value).forEach(walk);
  };
  try {
    walk(JSON.parse(text));
  } catch {
    // not JSON.parse-able (e.g. deep nesting): no strings to look at
  }
  return out;
}

/** Blanks at either end or a control character: what an Impersonate-* header cannot carry. */
const unheaderable = (s: string) =>
  /^\s|\s$/.test(s) || [...s].some((c) => (c.codePointAt(0) ?? 0) < 0x20 || c === "\u007f");

/** Claims whose strings become a username, uid, group or extra value in some configuration. */
const identityClaims = new Set(["sub", "email", "preferred_username", "groups", "jti", "hd"]);

export const knownOpen: readonly KnownOpen[] = [
  {
    name: "identity: an empty username, or blanks or control characters in a username, uid, group or extra value",
    finding: "F1 (identity family: kube-apiserver accepts, the gateway refuses)",
    excludes: (testCase) =>
      testCase.payload.some(
        ([name, value]) =>
          identityClaims.has(name) &&
          value.kind === "json" &&
          (stringsIn(value.text).some(unheaderable) || (name !== "groups" && value.text === '""')),
      ),
  },
  {
    name: "claims-utf8: invalid UTF-8 in a claim",
    finding: "F2 (claims-utf8 family: one U+FFFD per invalid byte)",
    excludes: (testCase) => testCase.payload.some(([, value]) => value.kind === "bytes"),
  },
  {
    name: "other: a duplicate claim (or one differing only in letter case) whose later value is null",
    finding: "F3 (Go's encoding/json leaves a field as it was on null; the gateway refuses)",
    excludes: (testCase) => {
      const seen = new Set<string>();
      return testCase.payload.some(([name, value]) => {
        const duplicate = seen.has(name.toLowerCase());
        seen.add(name.toLowerCase());
        return duplicate && value.kind === "json" && value.text === "null";
      });
    },
  },
];

/** `arbitrary` without the known-open shapes. */
export function excludeKnownOpen(arbitrary: fc.Arbitrary<TokenCase>): fc.Arbitrary<TokenCase> {
  if (knownOpen.length === 0) return arbitrary;
  return arbitrary.filter((testCase) => !knownOpen.some((open) => open.excludes(testCase)));
}
