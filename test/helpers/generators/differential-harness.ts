// The oracle harness of the generated differential suite (issue 16): generated tokens go to the
// bed's real kube-apiserver (a SelfSubjectReview, directly) and through the gateway configured
// identically; both must refuse, or both accept as the same user (username, uid, groups, extra).
//
// It reports every family of discrepancy, not only the first: a first pass runs the whole
// budget and records each disagreeing run; then, for each recorded run no known class explains,
// fast-check replays that run (same seed, `path`) and shrinks it to a minimal case, which names
// a new class (its features and the kind of disagreement). The test fails listing every class.
import fc from "fast-check";
import type { TestBed } from "../../../testbed/bed.ts";
import type { RunningGateway } from "../../../testbed/gateway.ts";
import { type Decision, selfSubjectReview } from "../kubectl-identity.ts";
import { tokenCommandVerdict } from "../token-verdict.ts";
import { type RenderContext, renderToken, sendable } from "./render.ts";
import type { ClaimValue, TokenCase, TokenProfile } from "./token-case.ts";

/** A started configuration: the bed's kube-apiserver and the gateway with identical settings. */
export interface Stand {
  readonly bed: TestBed;
  readonly gateway: RunningGateway;
  /** The `token` command's flags for the same settings. */
  readonly tokenFlags: readonly string[];
  readonly context: () => RenderContext;
  readonly profile: TokenProfile;
}

export type Family = "times" | "jws" | "jwks" | "claims-utf8" | "cel" | "identity" | "other";

export interface Outcome {
  readonly testCase: TokenCase;
  readonly token: string;
  readonly oracle: Decision;
  readonly through: Decision;
  /** Set when kube-apiserver and the gateway disagree. */
  readonly disagreement?: string;
  /** Set when they disagree as a documented deviation does. */
  readonly deviation?: string;
}

/** A difference the gateway makes on purpose (docs/serve.md), recognised in an outcome. */
export interface Deviation {
  readonly name: string;
  readonly applies: (outcome: Omit<Outcome, "deviation" | "disagreement">) => boolean;
}

/** A discrepancy class: found by shrinking, matched by its minimal case's features. */
export interface DiscrepancyClass {
  readonly family: Family;
  readonly verdict: string;
  readonly features: readonly string[];
  readonly minimal: Outcome;
  instances: number;
}

const baseline = new Map<string, string>([
  ["header.alg", "natural"],
  ["header.typ", '"JWT"'],
]);

function describeValue(value: ClaimValue): string {
  switch (value.kind) {
    case "json":
      return `json:${value.text}`;
    case "issuer":
      return `issuer#${value.index}${value.alter ? `:${value.alter}` : ""}`;
    case "audience":
      return `audience:${value.form}`;
    case "time":
      return `time:${value.offset > 0 ? "+" : ""}${value.offset}:${value.form}`;
    case "bytes":
      return `bytes:${value.bytes.map((b) => b.toString(16)).join(" ")}`;
  }
}

const defaultClaims = new Map<string, string>([
  ["iss", "issuer#0"],
  ["aud", "audience:string"],
  ["sub", 'json:"user-0001"'],
  ["email", 'json:"gen@example.com"'],
  ["email_verified", "json:true"],
  ["preferred_username", 'json:"generated"'],
  ["groups", 'json:["team-a","team-b"]'],
  ["iat", "time:0:int"],
  ["exp", "time:+3600:int"],
]);

/** What sets a case apart from the plain valid token: the atoms a class is matched by. */
export function features(testCase: TokenCase, profile: TokenProfile): string[] {
  const out: string[] = [];
  const { kid, alg, mode } = testCase.signature;
  if (kid !== "rsa-1" || alg !== "RS256") out.push(`key=${kid}/${alg}`);
  if (mode !== "valid") out.push(`signature=${mode}`);
  for (const segment of ["header", "payload"] as const) {
    if (testCase.encoding[segment] !== "base64url") out.push(`encoding.${segment}=${testCase.encoding[segment]}`);
  }
  const headerNames = new Set<string>();
  for (const [name, text] of testCase.header) {
    const duplicate = headerNames.has(name);
    headerNames.add(name);
    if (duplicate) out.push(`header.${name} duplicated=${text}`);
    else if (name === "alg" && text === JSON.stringify(alg)) continue;
    else if (name === "kid" && text === JSON.stringify(kid)) continue;
    else if (name === "typ" && text === baseline.get("header.typ")) continue;
    else out.push(`header.${name}=${text}`);
  }
  if (!headerNames.has("kid")) out.push("header.kid absent");
  if (!headerNames.has("typ")) out.push("header.typ absent");
  const required = profile.requiredClaim ?? ["hd", "example.com"];
  const claims = new Map([...defaultClaims, [required[0], `json:${JSON.stringify(required[1])}`]]);
  const seen = new Set<string>();
  for (const [name, value] of testCase.payload) {
    const described = describeValue(value);
    if (seen.has(name)) out.push(`payload.${name} duplicated=${described}`);
    else if (claims.get(name) !== described) out.push(`payload.${name}=${described}`);
    seen.add(name);
  }
  for (const name of claims.keys()) if (!seen.has(name)) out.push(`payload.${name} absent`);
  return out;
}

/** Blanks at either end, or a control character anywhere: what no HTTP header can carry. */
const identityChars = {
  test: (value: unknown) =>
    typeof value === "string" &&
    (/^\s|\s$/.test(value) || [...value].some((c) => (c.codePointAt(0) ?? 0) < 0x20 || c === "\u007f")),
};

/** The family a minimal case belongs to, from its features (jws first: it decides before claims). */
export function family(
  testCase: TokenCase,
  outcome: Outcome,
  profile: TokenProfile & { celIssuers?: readonly number[] },
) {
  const atoms = features(testCase, profile);
  const has = (pattern: RegExp) => atoms.some((atom) => pattern.test(atom));
  if (has(/^header\.(crit|b64|jwk|x5c)|^encoding\.|^signature=unencoded-payload/)) return "jws";
  if (has(/=bytes:/)) return "claims-utf8";
  if (has(/^payload\.(iat|exp|nbf)[ =]/)) return "times";
  const user = outcome.oracle.user;
  if (
    outcome.oracle.status === 201 &&
    outcome.through.status !== 201 &&
    user &&
    (user.username === "" ||
      user.username === undefined ||
      [user.username, user.uid, ...(user.groups ?? []), ...Object.values(user.extra ?? {}).flat()].some((v) =>
        identityChars.test(v),
      ))
  ) {
    return "identity";
  }
  if (
    testCase.payload.some(([name, v]) => name === "iss" && v.kind === "issuer" && profile.celIssuers?.includes(v.index))
  ) {
    return "cel";
  }
  if (has(/^header\.|^key=|^signature=/)) return "jws";
  return "other";
}

/** What kind of disagreement two decisions make, or undefined when they agree. */
export function compareDecisions(oracle: Decision, through: Decision): string | undefined {
  if (oracle.status !== 201 && oracle.status !== 401) return `kube-apiserver answered ${oracle.status}`;
  if (oracle.status !== through.status) {
    return oracle.status === 201
      ? "kube-apiserver accepts, the gateway refuses"
      : "kube-apiserver refuses, the gateway accepts";
  }
  if (oracle.status === 201 && JSON.stringify(oracle.user) !== JSON.stringify(through.user)) return "identities differ";
  if (oracle.status === 401 && oracle.body !== through.body) return "refusal bodies differ";
  return undefined;
}

async function decideOne(
  stand: Stand,
  testCase: TokenCase,
  deviations: readonly Deviation[],
): Promise<Outcome | undefined> {
  const token = renderToken(testCase, stand.context());
  if (!sendable(token)) return undefined;
  const [oracle, through] = await Promise.all([
    selfSubjectReview(stand.bed.apiServer?.url ?? "", stand.bed.ca.certPem, token),
    selfSubjectReview(stand.gateway.url, stand.bed.ca.certPem, token),
  ]);
  const base = { testCase, token, oracle, through };
  const disagreement = compareDecisions(oracle, through);
  if (!disagreement) return base;
  const deviation = deviations.find((d) => d.applies(base));
  return deviation ? { ...base, deviation: deviation.name } : { ...base, disagreement };
}

export interface RunStatistics {
  sent: number;
  unsendable: number;
  accepted: number;
  refused: number;
  deviations: Map<string, number>;
  tokenCommandChecked: number;
  tokenCommandDisagreements: string[];
}

export interface RunResult {
  readonly statistics: RunStatistics;
  readonly classes: DiscrepancyClass[];
  /** Disagreeing outcomes no class explains (the shrink budget ran out). */
  readonly unexplained: Outcome[];
}

export interface RunOptions {
  readonly seed: number;
  /** Tokens to send in the first pass (rounded up to whole batches). */
  readonly tokens: number;
  readonly batch?: number;
  readonly deviations?: readonly Deviation[];
  /** How many cases of the first pass also go to the `token` command. */
  readonly tokenCommandSample?: number;
  /** At most this many shrinks (each finds one class). */
  readonly maxClasses?: number;
  readonly log?: (line: string) => void;
  readonly celIssuers?: readonly number[];
}

function matches(cls: DiscrepancyClass, outcome: Outcome, profile: TokenProfile): boolean {
  if (outcome.disagreement !== cls.verdict) return false;
  const atoms = new Set(features(outcome.testCase, profile));
  return cls.features.every((atom) => atoms.has(atom));
}

/** Runs the budget against `stand`, then shrinks each unexplained disagreement into a class. */
export async function runDifferential(
  stand: Stand,
  arbitrary: fc.Arbitrary<TokenCase>,
  options: RunOptions,
): Promise<RunResult> {
  const batch = options.batch ?? 8;
  const deviations = options.deviations ?? [];
  const log = options.log ?? (() => {});
  const batches = fc.array(arbitrary, { minLength: batch, maxLength: batch });
  const numRuns = Math.ceil(options.tokens / batch);
  const statistics: RunStatistics = {
    sent: 0,
    unsendable: 0,
    accepted: 0,
    refused: 0,
    deviations: new Map(),
    tokenCommandChecked: 0,
    tokenCommandDisagreements: [],
  };
  const disagreeing: { run: number; outcomes: Outcome[] }[] = [];
  let run = 0;
  let sampleLeft = options.tokenCommandSample ?? 0;

  // First pass: every run, nothing fails, every disagreement recorded with its run index.
  await fc.check(
    fc.asyncProperty(batches, async (cases) => {
      const outcomes = await Promise.all(cases.map((c) => decideOne(stand, c, deviations)));
      const bad: Outcome[] = [];
      for (const outcome of outcomes) {
        if (!outcome) {
          statistics.unsendable++;
          continue;
        }
        statistics.sent++;
        if (outcome.oracle.status === 201) statistics.accepted++;
        else statistics.refused++;
        if (outcome.deviation) {
          statistics.deviations.set(outcome.deviation, (statistics.deviations.get(outcome.deviation) ?? 0) + 1);
        }
        if (outcome.disagreement) bad.push(outcome);
        else if (sampleLeft > 0 && !outcome.deviation && !outcome.token.includes("\t")) {
          sampleLeft--;
          statistics.tokenCommandChecked++;
          const problem = await tokenCommandDisagreement(stand.tokenFlags, outcome);
          if (problem) statistics.tokenCommandDisagreements.push(problem);
        }
      }
      if (bad.length > 0) disagreeing.push({ run, outcomes: bad });
      run++;
      return true;
    }),
    { seed: options.seed, numRuns },
  );
  log(
    `first pass: ${statistics.sent} tokens (${statistics.accepted} accepted by kube-apiserver), ` +
      `${disagreeing.reduce((n, d) => n + d.outcomes.length, 0)} disagreements in ${disagreeing.length} runs`,
  );

  // Then: shrink each run that holds a disagreement no class explains yet.
  const classes: DiscrepancyClass[] = [];
  const unexplained: Outcome[] = [];
  const explained = (outcome: Outcome) => classes.some((cls) => matches(cls, outcome, stand.profile));
  for (const { run: index, outcomes } of disagreeing) {
    const open = outcomes.filter((o) => !explained(o));
    if (open.length === 0) continue;
    if (classes.length >= (options.maxClasses ?? 12)) {
      unexplained.push(...open);
      continue;
    }
    let minimal: Outcome | undefined;
    const shrunk = await fc.check(
      fc.asyncProperty(batches, async (cases) => {
        const results = await Promise.all(cases.map((c) => decideOne(stand, c, deviations)));
        const found = results.find((o): o is Outcome => o?.disagreement !== undefined && !explained(o));
        if (found) minimal = found;
        return found === undefined;
      }),
      { seed: options.seed, numRuns, path: String(index) },
    );
    if (!shrunk.failed || !minimal) {
      // Not reproduced (a flake of timing?): keep the original as its own class.
      minimal = open[0] as Outcome;
      log(`run ${index}: the disagreement did not reproduce when replayed`);
    }
    const m: Outcome = minimal;
    const cls: DiscrepancyClass = {
      family: family(m.testCase, m, { ...stand.profile, celIssuers: options.celIssuers }),
      verdict: m.disagreement ?? "",
      features: features(m.testCase, stand.profile),
      minimal: m,
      instances: 0,
    };
    classes.push(cls);
    log(`class ${classes.length}: ${cls.family}: ${cls.verdict}: ${cls.features.join(", ") || "(a plain token)"}`);
  }
  for (const { outcomes } of disagreeing) {
    for (const outcome of outcomes) {
      const cls = classes.find((c) => matches(c, outcome, stand.profile));
      if (cls) cls.instances++;
    }
  }
  return { statistics, classes, unexplained };
}

async function tokenCommandDisagreement(flags: readonly string[], outcome: Outcome): Promise<string | undefined> {
  const report = await tokenCommandVerdict(flags, outcome.token);
  const accepted = report.verdict?.accepted === true;
  const describe = () => `token ${JSON.stringify(outcome.token)}`;
  if (accepted !== (outcome.oracle.status === 201)) {
    return `${describe()}: the token command ${accepted ? "accepted" : `refused (${report.verdict?.refusal?.code ?? report.error?.code})`}, kube-apiserver answered ${outcome.oracle.status}`;
  }
  if (!accepted || !outcome.oracle.user) return undefined;
  const user = report.verdict?.user;
  const groups = [...(user?.groups ?? [])];
  if (!groups.includes("system:authenticated")) groups.push("system:authenticated");
  const mine = JSON.stringify({ username: user?.username, uid: user?.uid, groups, extra: user?.extra ?? {} });
  const theirs = JSON.stringify({
    username: outcome.oracle.user.username,
    uid: outcome.oracle.user.uid,
    groups: outcome.oracle.user.groups ?? [],
    extra: outcome.oracle.user.extra ?? {},
  });
  return mine === theirs
    ? undefined
    : `${describe()}: the token command's identity ${mine}, kube-apiserver's ${theirs}`;
}

/** A class as a findings-file entry: family, minimal token, both answers. */
export function describeClass(cls: DiscrepancyClass, configuration: string): string {
  const { minimal } = cls;
  const [header, payload] = minimal.token.split(".");
  const decode = (segment: string | undefined) => {
    try {
      return Buffer.from((segment ?? "").replace(/\s/g, ""), "base64url").toString("utf8");
    } catch {
      return "(undecodable)";
    }
  };
  return [
    `### ${cls.family}: ${cls.verdict} (${configuration})`,
    "",
    `- features of the minimal case: ${cls.features.join("; ") || "(none: a plain valid token)"}`,
    `- instances in this run: ${cls.instances}`,
    `- header: \`${decode(header)}\``,
    `- payload: \`${decode(payload)}\``,
    `- signed: ${minimal.testCase.signature.mode} with ${minimal.testCase.signature.kid} (${minimal.testCase.signature.alg}); encodings ${JSON.stringify(minimal.testCase.encoding)}`,
    `- kube-apiserver: ${minimal.oracle.status} ${minimal.oracle.user ? JSON.stringify(minimal.oracle.user) : minimal.oracle.body.slice(0, 200)}`,
    `- gateway: ${minimal.through.status} ${minimal.through.user ? JSON.stringify(minimal.through.user) : minimal.through.body.slice(0, 200)}`,
    `- case: \`${JSON.stringify(minimal.testCase)}\``,
    "",
  ].join("\n");
}
