// Where the test bed keeps things. Build products and downloads go under one ignored cache
// folder so a second run on a machine is fast; override it with KOG_CACHE_DIR.
import { join, resolve } from "node:path";

export const repoRoot = resolve(import.meta.dirname, "..");
export const cacheDir = process.env.KOG_CACHE_DIR ? resolve(process.env.KOG_CACHE_DIR) : join(repoRoot, ".cache");
/** Where a running bed (or demo) says where its issuer and CA are, for `npm run testbed -- token`. */
export const runningBedStatePath = join(cacheDir, "testbed", "running.json");
