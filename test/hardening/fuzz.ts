// The property tests' run settings: a fixed seed so CI is reproducible, and more runs on demand
// (KOG_FUZZ_RUNS=100000 node --test test/**/*.property.test.ts). A failure prints its seed
// and path; KOG_FUZZ_SEED replays another seed.
export const fuzzSeed = Number(process.env.KOG_FUZZ_SEED ?? 424242);
export const fuzzRuns = Number(process.env.KOG_FUZZ_RUNS ?? 500);

/** fast-check parameters for one property; `share` scales the run count for costly properties. */
export function fuzz(share = 1): { seed: number; numRuns: number } {
  return { seed: fuzzSeed, numRuns: Math.max(1, Math.round(fuzzRuns * share)) };
}
