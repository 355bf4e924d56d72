// The package's version, read once from its package.json (the repository's, or the installed
// package's: src/ and dist/ sit at the same depth below it).
import { readFileSync } from "node:fs";

let cached: string | undefined;

export function packageVersion(): string {
  cached ??= (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string })
    .version;
  return cached;
}
