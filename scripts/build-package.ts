// Builds the JavaScript that the npm package and the container image run: `npm run build` (and
// `npm pack`/`npm publish` through prepack). Development runs src/ directly through Node's type
// stripping, but Node refuses to strip types under node_modules, so an installed package needs JS.
//
// TypeScript emits it (tsconfig.build.json), rewriting the `.ts` extensions of relative imports to
// `.js` (rewriteRelativeImportExtensions). It emits the whole type-checked program into a staging
// folder under .cache/ (src/ may refer to the test bed's types, which pulls the test bed into the
// program) and only the staged src/ becomes dist/, with the same layout. That keeps the relative
// positions the code relies on: dist/cli/main.js reads ../../package.json and dist/docs/links.js
// points at ../../docs/<section>/<id>.md, both at the package root.
//
// After emitting, it checks what it emitted: one .js per source file, every relative import of
// the emitted graph ends in .js and names an emitted file (so nothing reaches test/ or testbed/),
// and the executables (package.json "bin") start with a shebang and are executable.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const repoRoot = resolve(import.meta.dirname, "..");
const srcDir = join(repoRoot, "src");
const distDir = join(repoRoot, "dist");
// The executables (package.json "bin"): the CLI, and kube-oidc-proxy's name for serve. Both are
// the small guards of src/cli/start.ts, which refuse an older Node before loading the CLI.
const bins = (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { bin: Record<string, string> }).bin;
const entries = Object.values(bins).map((path) => join(repoRoot, path));

/** Every file under `dir`, as absolute paths. */
function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/**
 * The module specifiers of `code`'s static imports and re-exports, and of dynamic imports with a
 * string literal. A dynamic import of a computed value is not listed: the build cannot follow it.
 */
export function importSpecifiers(code: string): string[] {
  const specifiers: string[] = [];
  const patterns = [
    // import x from "…"; import { a } from "…"; export { a } from "…"; export * from "…"
    /^\s*(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']/gm,
    // import "…";
    /^\s*import\s*["']([^"']+)["']/gm,
    // import("…")
    /\bimport\(\s*["']([^"']+)["']\s*[,)]/g,
  ];
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) if (match[1] !== undefined) specifiers.push(match[1]);
  }
  return specifiers;
}

/** What is wrong with the emitted tree, one line per problem; empty when it is sound. */
export function checkEmitted(source: string, dist: string): string[] {
  const problems: string[] = [];
  const sources = walk(source).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
  for (const file of sources) {
    const emitted = join(dist, relative(source, file)).replace(/\.ts$/, ".js");
    if (!existsSync(emitted)) problems.push(`src/${relative(source, file)} was not emitted`);
  }
  for (const file of walk(dist)) {
    if (!file.endsWith(".js")) {
      problems.push(`dist/${relative(dist, file)}: unexpected file in the output`);
      continue;
    }
    for (const specifier of importSpecifiers(readFileSync(file, "utf8"))) {
      if (!specifier.startsWith("./") && !specifier.startsWith("../")) continue;
      const target = resolve(dirname(file), specifier);
      if (!specifier.endsWith(".js")) {
        problems.push(`dist/${relative(dist, file)}: import of ${JSON.stringify(specifier)} does not end in .js`);
      } else if (!target.startsWith(`${dist}/`) || !existsSync(target)) {
        problems.push(`dist/${relative(dist, file)}: import of ${JSON.stringify(specifier)} names no emitted file`);
      }
    }
  }
  return problems;
}

function build(): void {
  // Per process, so two builds at once do not mix; inside the repository, so dist/ is a rename away.
  const stage = join(repoRoot, ".cache", "build-package", String(process.pid));
  rmSync(stage, { recursive: true, force: true });
  try {
    const tsc = join(repoRoot, "node_modules", "typescript", "bin", "tsc");
    const result = spawnSync(process.execPath, [tsc, "-p", join(repoRoot, "tsconfig.build.json"), "--outDir", stage], {
      cwd: repoRoot,
      stdio: "inherit",
    });
    if (result.status !== 0) {
      throw new Error(`build-package: tsc failed (exit ${result.status ?? result.signal}); dist/ is unchanged`);
    }
    if (!existsSync(join(stage, "src", "cli", "main.js"))) {
      throw new Error(`build-package: tsc emitted no src/cli/main.js under ${relative(repoRoot, stage)}`);
    }
    const staged = join(stage, "src");
    const problems = checkEmitted(srcDir, staged);
    for (const entry of entries) {
      const head = readFileSync(join(staged, relative(distDir, entry)), "utf8").split("\n", 1)[0];
      if (head !== "#!/usr/bin/env node") problems.push(`${relative(distDir, entry)} does not start with a shebang`);
    }
    if (problems.length > 0) {
      throw new Error(
        `build-package: the emitted JavaScript is not sound (dist/ is unchanged):\n  ${problems.join("\n  ")}`,
      );
    }
    for (const entry of entries) {
      const stagedEntry = join(staged, relative(distDir, entry));
      chmodSync(stagedEntry, statSync(stagedEntry).mode | 0o111);
    }
    // Swapped in by renames, so a concurrent reader sees the old dist/ or the new one for all
    // but the instant between them, never a half-written one.
    mkdirSync(dirname(distDir), { recursive: true });
    if (existsSync(distDir)) renameSync(distDir, join(stage, "previous-dist"));
    renameSync(staged, distDir);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  const files = walk(distDir);
  const bytes = files.reduce((sum, f) => sum + statSync(f).size, 0);
  process.stdout.write(`build-package: ${files.length} files, ${Math.round(bytes / 1024)} KiB in dist/\n`);
}

if (import.meta.main) {
  try {
    build();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}
