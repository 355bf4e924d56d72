// Generated differential for CEL as kube-apiserver configures cel-go (issue 16): expressions drawn
// from a small grammar of what kube-apiserver enables (ext.Strings v2, matches() with RE2 patterns,
// Kubernetes' find/findAll, conversions, has(), size, ternaries, macros, int64 arithmetic near its
// bounds) go into one AuthenticationConfiguration given to both kube-apiserver and the gateway.
// One start serves them all: expression i is an extra mapping (strings) or a claim validation rule
// (bools) guarded by `claims.k == 'i'`, so the token minted with k = i runs only expression i, and a
// difference names it. A new seed each run (printed); replay with KOG_PROPERTY_SEED.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type BedIssuers, startTestBed, type TestBed } from "../../testbed/bed.ts";
import {
  gatewayReady,
  prepareGatewayCredentials,
  type RunningGateway,
  startTestGateway,
  writeAuthenticationConfig,
} from "../../testbed/gateway.ts";
import { waitFor } from "../../testbed/http.ts";
import { clients } from "../../testbed/issuer/oidc-provider.ts";
import { selfSubjectReview } from "../helpers/kubectl-identity.ts";
import { propertySeed } from "../helpers/property-seed.ts";

const COUNT = Number(process.env.KOG_CEL_EXPRESSIONS ?? 240);

/** mulberry32: small, seeded, good enough to draw expressions. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  return { next, int, pick };
}

const quote = (s: string) => `'${s.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;

// Valid RE2 patterns admins write (flags, Unicode and POSIX classes, \z, \Q…\E); as literals they load.
const patterns = [
  "(?i)^ab",
  "^\\p{L}+$",
  "\\p{Lu}",
  "[[:alpha:]]+",
  "[[:^digit:]]",
  "b\\z",
  "^.$",
  "\\d{2,}",
  "(?s)a.b",
  "ä|Ä",
  "[^a-z]",
  "\\bAb\\b",
  "^(?:[a-z]+)$",
  "\\Qa.b\\E",
  "(?U)a+",
  "^\\s*$",
  "(?m)^b",
  "[\\x{1F600}-\\x{1F64F}]",
  "\\pN",
  "x*",
];
// Patterns only valid in JavaScript or not at all: reached through a claim, so they fail per token.
const badPatterns = ["(a)\\1", "(?=a)", "(a", "\\C", "a{1001}", "(?<name>a)", "\\Z"];
const strings = ["Ab", "ä😀b", " a\u0085", "ABC-def", "", "a.b", "Ä", "x y z", "12", "-7", "+3", "1e3", "0x10", "T"];

/**
 * A conversion's argument made non-constant: cel-go evaluates a conversion of a literal when the
 * program is built and refuses the whole configuration if that fails (kept for the fixed cases).
 */
const nc = (e: string) => (/^(['\d-]|true$|false$)/.test(e) ? `[${e}][0]` : e);

function expressions(seed: number, count: number) {
  const g = generator(seed);
  const smallInt = () => String(g.int(7) - 1);
  const str = (depth: number): string => {
    if (depth <= 0)
      return g.pick(["claims.s", "claims.t", quote(g.pick(strings)), "claims.?missing.orValue('d')", "claims.l[0]"]);
    const d = depth - 1;
    switch (g.int(20)) {
      case 0:
        return `(${str(d)} + ${str(d)})`;
      case 1:
        return `${str(d)}.lowerAscii()`;
      case 2:
        return `${str(d)}.upperAscii()`;
      case 3:
        return `${str(d)}.substring(${smallInt()})`;
      case 4:
        return `${str(d)}.substring(${smallInt()}, ${smallInt()})`;
      case 5:
        return `${str(d)}.charAt(${smallInt()})`;
      case 6:
        return `${str(d)}.trim()`;
      case 7:
        return `${str(d)}.replace(${str(0)}, ${str(0)}${g.int(2) ? `, ${smallInt()}` : ""})`;
      case 8:
        return `string(${nc(int(d))})`;
      case 9:
        return `string(${nc(dbl(d))})`;
      case 10:
        return `string(${nc(bool(d))})`;
      case 11:
        return `${str(d)}.split(${str(0)}${g.int(2) ? `, ${smallInt()}` : ""}).join('|')`;
      case 12:
        return `${str(d)}.find(${quote(g.pick(patterns))})`;
      case 13:
        return `${str(d)}.findAll(${quote(g.pick(patterns))}).join(',')`;
      case 14:
        return `(${bool(d)} ? ${str(d)} : ${str(d)})`;
      case 15:
        return `dyn(claims.l).map(v, string(v)).join(',')`;
      case 16:
        return `dyn(claims.sl).filter(x, ${boolOf("x", d)}).join(',')`;
      case 17:
        return `[string(${str(d)}), string(${str(d)})].join(${str(0)})`;
      case 18:
        return `string(bytes(${nc(str(d))}))`;
      default:
        return `string(${nc(uint(d))})`;
    }
  };
  const boolOf = (v: string, depth: number): string =>
    g.pick([
      `${v}.matches(${quote(g.pick(patterns))})`,
      `${v}.startsWith(${str(0)})`,
      `${v}.lowerAscii() == ${v}`,
      `size(${v}) > ${smallInt()}`,
      `${v}.indexOf(${str(Math.min(depth, 0))}) >= 0`,
    ]);
  const int = (depth: number): string => {
    if (depth <= 0)
      return g.pick([
        smallInt(),
        "9223372036854775807",
        "-9223372036854775808",
        "4611686018427387904",
        "-9223372036854775807",
        "claims.i",
        "int(claims.n)",
      ]);
    const d = depth - 1;
    switch (g.int(14)) {
      case 0:
        return `(${int(d)} + ${int(d)})`;
      case 1:
        return `(${int(d)} - ${int(d)})`;
      case 2:
        return `(${int(d)} * ${int(d)})`;
      case 3:
        return `(${int(d)} / ${int(d)})`;
      case 4:
        return `(${int(d)} % ${int(d)})`;
      case 5:
        return `-(${int(d)})`;
      case 6:
        return `int(${nc(dbl(d))})`;
      case 7:
        return `int(${nc(str(d))})`;
      case 8:
        return `size(${str(d)})`;
      case 9:
        return `${str(d)}.indexOf(${str(0)}${g.int(2) ? `, ${smallInt()}` : ""})`;
      case 10:
        return `${str(d)}.lastIndexOf(${str(0)}${g.int(2) ? `, ${smallInt()}` : ""})`;
      case 11:
        return `size(dyn(claims.sl).filter(x, ${boolOf("x", d)}))`;
      case 12:
        return `int(${nc(uint(d))})`;
      default:
        return `claims.l.size()`;
    }
  };
  const uint = (depth: number): string => {
    const d = depth - 1;
    return g.pick([
      "18446744073709551615u",
      "1u",
      `uint(${nc(depth > 0 ? int(d) : smallInt())})`,
      `uint(${nc(depth > 0 ? dbl(d) : "claims.n")})`,
      `uint(${nc(depth > 0 ? str(d) : "claims.s")})`,
    ]);
  };
  const dbl = (depth: number): string => {
    if (depth <= 0)
      return g.pick([
        "claims.n",
        "claims.big",
        "claims.tiny",
        "1234567.0",
        "0.00001",
        "-0.0",
        "1e21",
        "123456.7",
        "2.5",
      ]);
    const d = depth - 1;
    switch (g.int(6)) {
      case 0:
        return `(${dbl(d)} * ${dbl(d)})`;
      case 1:
        return `(${dbl(d)} / ${dbl(d)})`;
      case 2:
        return `double(${nc(int(d))})`;
      case 3:
        return `double(${nc(str(d))})`;
      case 4:
        return `(${dbl(d)} - ${dbl(d)})`;
      default:
        return `claims.l[1]`;
    }
  };
  const bool = (depth: number): string => {
    if (depth <= 0) return g.pick(["has(claims.s)", "has(claims.missing)", "true", "claims.b == true"]);
    const d = depth - 1;
    switch (g.int(14)) {
      case 0:
        return `${str(d)}.matches(${quote(g.pick(patterns))})`;
      case 1:
        // Not a literal subject: cel-go's ValidateRegexLiterals would compile it as a pattern at load.
        return `matches(${str(d)} + claims.s, ${quote(g.pick(patterns))})`;
      case 2:
        return `${str(d)}.matches(claims.re)`;
      case 3:
        return `${str(d)} == ${str(d)}`;
      case 4:
        return `${int(d)} < ${int(d)}`;
      case 5:
        return `${str(d)}.startsWith(${str(d)})`;
      case 6:
        return `${str(d)}.contains(${str(d)})`;
      case 7:
        return `dyn(claims.sl).exists(x, ${boolOf("x", d)})`;
      case 8:
        return `dyn(claims.sl).all(x, ${boolOf("x", d)})`;
      case 9:
        return `bool(${nc(str(d))})`;
      case 10:
        return `!(${bool(d)})`;
      case 11:
        return `(${bool(d)} && ${bool(d)})`;
      case 12:
        return `(${bool(d)} || ${bool(d)})`;
      default:
        return `${dbl(d)} > ${int(d)}`;
    }
  };
  const out: { kind: "string" | "bool"; expression: string }[] = [];
  for (let i = 0; i < count; i++) {
    const depth = 1 + g.int(3);
    out.push(g.int(3) === 0 ? { kind: "bool", expression: bool(depth) } : { kind: "string", expression: str(depth) });
  }
  const claims = {
    s: g.pick(strings.filter((s) => s !== "")),
    t: g.pick(strings),
    n: g.pick([1.5, 1234567.25, -2.75, 0.0001, 1e-7, 9.2e18, 12]),
    big: g.pick([9.223372036854776e18, -9.223372036854776e18, 1.8446744073709552e19, 1e300]),
    tiny: g.pick([1e-5, 5e-324, -1e-4]),
    i: g.pick([0, 3, -1]),
    b: g.int(2) === 1,
    l: [g.pick(["Ab", "ä", "7"]), g.pick([2.5, 1e6, 100000])],
    sl: ["Ab", g.pick(strings), "ä😀b"],
    re: g.pick(badPatterns),
  };
  return { expressions: out, claims };
}

describe("differential CEL, generated expressions", { timeout: 600_000 }, () => {
  console.log(`property seed: ${propertySeed} (replay with KOG_PROPERTY_SEED=${propertySeed})`);
  const generated = expressions(propertySeed, COUNT);
  let bed: TestBed;
  let gateway: RunningGateway;
  const jwt = (issuers: BedIssuers) => [
    {
      issuer: {
        url: issuers.oidcProvider.url,
        certificateAuthority: issuers.caPem,
        audiences: [clients.kubernetes.id],
      },
      claimValidationRules: generated.expressions.flatMap(({ kind, expression }, i) =>
        kind === "bool" ? [{ expression: `claims.k != '${i}' || (${expression})`, message: `rule ${i}` }] : [],
      ),
      claimMappings: {
        username: { expression: "'gen:' + claims.sub" },
        extra: generated.expressions.flatMap(({ kind, expression }, i) =>
          kind === "string"
            ? [{ key: `gen.example/e${i}`, valueExpression: `claims.k == '${i}' ? (${expression}) : ''` }]
            : [],
        ),
      },
    },
  ];
  const token = (k: string) => {
    const now = Math.floor(Date.now() / 1000);
    return bed.mint({
      alg: "RS256",
      kid: "rsa-1",
      claims: {
        iss: bed.issuer.url,
        aud: clients.kubernetes.id,
        sub: "user-1",
        iat: now,
        exp: now + 600,
        k,
        ...generated.claims,
      },
    });
  };

  before(async () => {
    bed = await startTestBed({ jwt });
    const file = await writeAuthenticationConfig(bed, jwt({ oidcProvider: bed.issuer, caPem: bed.ca.certPem }));
    gateway = await startTestGateway(await prepareGatewayCredentials(bed), [`--authentication-config=${file}`]);
    await gatewayReady(gateway);
    await waitFor(
      "kube-apiserver's authenticator",
      async () => (await selfSubjectReview(bed.apiServer?.url ?? "", bed.ca.certPem, token("none"))).status === 201,
      { timeoutMs: 30_000 },
    );
  });
  after(async () => {
    await gateway?.gateway.stop();
    await bed?.stop();
  });

  it(`${COUNT} expressions decide and map as kube-apiserver's`, async () => {
    const differences: string[] = [];
    const seen = new Set<number>();
    for (const [i, { expression }] of generated.expressions.entries()) {
      const value = token(String(i));
      const oracle = await selfSubjectReview(bed.apiServer?.url ?? "", bed.ca.certPem, value);
      const ours = await selfSubjectReview(gateway.url, bed.ca.certPem, value);
      seen.add(oracle.status);
      // A deliberate deviation (docs/serve.md): an identity with a value that begins or ends with a
      // space or tab cannot travel in an Impersonate-* header unchanged, so the gateway refuses it.
      const values = Object.values(oracle.user?.extra ?? {}).flat();
      if (oracle.status === 201 && ours.status === 401 && values.some((v) => /^[ \t]|[ \t]$/.test(v))) continue;
      try {
        assert.deepEqual(ours, oracle);
      } catch {
        differences.push(
          `#${i} ${expression}\n  kube-apiserver: ${JSON.stringify(oracle.user?.extra ?? oracle.status)}\n  gateway:        ${JSON.stringify(ours.user?.extra ?? ours.status)}\n  gateway log: ${gateway.logs.slice(-2).join(" | ")}`,
        );
      }
    }
    assert.deepEqual(
      differences,
      [],
      `seed ${propertySeed}, claims ${JSON.stringify(generated.claims)}:\n${differences.join("\n")}`,
    );
    assert.ok(seen.has(201) && seen.has(401), `decisions seen: ${[...seen].join(",")}`);
  });
});
