// The run settings of every fast-check property (test/**/*.property.test.ts). Each test file
// process draws a new seed, so every run explores new inputs instead of repeating one fixed
// sample; the seed is printed once per file ("property seed: <n> ...") in the test output.
//
// Replaying a failure: fast-check's failure message carries the seed and the counterexample's
// path ("{ seed: <n>, path: "<p>", endOnFailure: true }"). Run the same file with that seed:
//
//   KOG_PROPERTY_SEED=<n> node scripts/run-tests.ts test/proxy/headers.property.test.ts
//
// Generation is deterministic for a seed, so the same counterexample comes back (keep
// KOG_PROPERTY_RUNS at least as high as on the failing run). To jump straight to the shrunk
// counterexample of one property, pass `{ ...propertyParameters(), path: "<p>" }` to that
// property's fc.assert while debugging.
//
// More runs on demand: KOG_PROPERTY_RUNS=100000 (the default is 500 per property; `share`
// scales it for costly properties).
import { randomInt } from "node:crypto";
import { relative } from "node:path";

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

export class PropertySettingsError extends Error {
  readonly code = "BAD_PROPERTY_SETTING";
}

/** A whole number from the environment, refused loudly rather than turned into NaN. */
function integerFromEnv(name: string, min: number, max: number): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new PropertySettingsError(`${name}=${raw}: expected a whole number from ${min} to ${max}`);
  }
  return value;
}

const replayed = integerFromEnv("KOG_PROPERTY_SEED", INT32_MIN, INT32_MAX);
/** fast-check takes a 32-bit seed; a drawn one is non-negative so it is easy to paste back. */
export const propertySeed: number = replayed ?? randomInt(0, INT32_MAX);
export const propertyRuns: number = integerFromEnv("KOG_PROPERTY_RUNS", 1, Number.MAX_SAFE_INTEGER) ?? 500;

// Written at import, before any property runs, so the seed is in the output even when a
// property hangs or the process dies; node:test shows a test file's stdout in its report.
// node:test runs each file in a process of its own, whose argv[1] is the file.
const file = process.argv[1] ? relative(process.cwd(), process.argv[1]) : "this file";
process.stdout.write(
  `property seed for ${file}: ${propertySeed} (${replayed === undefined ? "new" : "from KOG_PROPERTY_SEED"}), ` +
    `${propertyRuns} runs; replay with KOG_PROPERTY_SEED=${propertySeed}\n`,
);

/** fast-check parameters for one property; `share` scales the run count for costly properties. */
export function propertyParameters(share = 1): { seed: number; numRuns: number } {
  return { seed: propertySeed, numRuns: Math.max(1, Math.round(propertyRuns * share)) };
}
