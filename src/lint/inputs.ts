// The manifests named on the command line: files (any extension), folders (recursively, every
// *.yaml, *.yml and *.json, skipping hidden folders such as .git), and `-` for standard input.
//
// lint knows what it reads (issue 20: it passed what it could not read). A folder with a
// Chart.yaml is a Helm chart: it is rendered with `helm template` (render/helm.ts), never read as
// YAML. A folder with a kustomization is built with kustomize (render/kustomize.ts). Either is a
// unit: a folder walk does not go into it, so its templates, patches and resources are not read
// raw as well (a patch is a partial object and would be judged as a whole one, and the objects it
// builds would be counted twice). A Helm values file is said to be one (render/values.ts); named
// together with a chart folder, it is that chart's `-f`. Whatever cannot be rendered is one
// source with a `problem`: one finding that names the command to run by hand.
//
// Only regular files are read from folders: opening a FIFO waits for a writer forever and a
// device may never end, so anything else is skipped with a note. Symbolic links are followed
// (charts and kustomize trees link shared folders), each real folder once, so a link loop ends.
// A path named on the command line may be a pipe, for `lint <(helm template …)`. Every read stops
// at maxInputBytes: a manifest set larger than that is a mistake (a data file, a device), not
// something to hold in memory.
import { createReadStream, readFileSync, realpathSync, statSync } from "node:fs";
import { readdir, readFile, realpath, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { parse } from "yaml";
import { LintError } from "./errors.ts";
import type { ManifestSource } from "./manifests.ts";
import { chartFile, type HelmOptions, isChartDirectory, renderChart } from "./render/helm.ts";
import { kustomizationFileNames, kustomizationIn, renderKustomization } from "./render/kustomize.ts";
import { valuesFileProblem } from "./render/values.ts";

export const stdinName = "<stdin>";

/** The largest file (or stream) lint reads: 16 MiB. */
export const maxInputBytes = 16 * 1024 * 1024;

const manifestFile = /\.(ya?ml|json)$/i;

export interface Inputs {
  readonly sources: ManifestSource[];
  /** What was left out and why, for standard error. */
  readonly notes: string[];
}

class TooLarge extends Error {}

const tooLargeMessage = (what: string) =>
  `${what} is larger than ${maxInputBytes / 1024 / 1024} MiB, the most lint reads; split it or name its folder's manifests`;

/** How charts and kustomizations are rendered; `env` is where helm, kustomize and kubectl are looked up and run. */
export type RenderOptions = HelmOptions;

const noRendering: RenderOptions = { values: [], set: [], env: {} };

/** A unit of input: a file read as manifests, or a folder rendered by a tool. */
type Unit = { kind: "file"; path: string } | { kind: "chart"; dir: string } | { kind: "kustomization"; dir: string };

export async function readInputs(
  paths: readonly string[],
  stdin: Readable,
  render: RenderOptions = noRendering,
): Promise<Inputs> {
  if (paths.length === 0) {
    throw new LintError("LINT_NO_INPUT", "no input: name files, folders, or - for standard input");
  }
  const sources: ManifestSource[] = [];
  const notes: string[] = [];
  let stdinRead = false;
  // `lint chart/ my-values.yaml`: with a chart named, a values file named on the same command
  // line is its -f (after --values), not a finding of its own.
  const charts = paths.filter((path) => path !== "-" && namedUnit(path)?.kind === "chart");
  const valueFiles =
    charts.length === 0 ? [] : paths.filter((path) => path !== "-" && !charts.includes(path) && isValuesFile(path));
  const options = { ...render, values: [...render.values, ...valueFiles] };
  for (const path of paths) {
    if (valueFiles.includes(path)) continue;
    if (path === "-") {
      if (stdinRead) continue;
      stdinRead = true;
      let text: string;
      try {
        text = await readStream(stdin);
      } catch (error) {
        if (error instanceof TooLarge) throw new LintError("LINT_INPUT_TOO_LARGE", tooLargeMessage("standard input"));
        throw error;
      }
      // Empty standard input is not a usage error: it is the unread-input finding "nothing to
      // check" (lint.ts), as a failed render piped in without pipefail looks just like it.
      sources.push({ file: stdinName, text });
      continue;
    }
    sources.push(...(await readPath(path, notes, options)));
  }
  return { sources, notes };
}

/** The chart or kustomization a path names: its folder, or its Chart.yaml or kustomization file. */
function namedUnit(path: string): Unit | undefined {
  let info: ReturnType<typeof statSync>;
  try {
    info = statSync(path);
  } catch {
    return undefined;
  }
  if (info.isDirectory()) return folderUnit(path);
  if (info.isFile() && basename(path) === chartFile) return { kind: "chart", dir: dirname(path) };
  if (info.isFile() && kustomizationFileNames.includes(basename(path)))
    return { kind: "kustomization", dir: dirname(path) };
  return undefined;
}

/** A folder that is a chart (has Chart.yaml; checked first) or a kustomization. */
function folderUnit(dir: string): Unit | undefined {
  if (isChartDirectory(dir)) return { kind: "chart", dir };
  if (kustomizationIn(dir) !== undefined) return { kind: "kustomization", dir };
  return undefined;
}

function isValuesFile(path: string): boolean {
  try {
    const info = statSync(path);
    return (
      info.isFile() && info.size <= maxInputBytes && valuesFileProblem(path, readFileSync(path, "utf8")) !== undefined
    );
  } catch {
    return false;
  }
}

async function renderUnit(unit: Unit, render: RenderOptions): Promise<ManifestSource[]> {
  if (unit.kind === "chart") return renderChart(unit.dir, render);
  if (unit.kind === "kustomization") return renderKustomization(unit.dir, render.env);
  throw new Error("not a rendered unit");
}

/** A file read as manifests, or as the one line about a values file. */
function fileSource(file: string, text: string): ManifestSource {
  const problem = valuesFileProblem(file, text);
  return problem === undefined ? { file, text } : { file, text: "", problem };
}

async function readPath(path: string, notes: string[], render: RenderOptions): Promise<ManifestSource[]> {
  try {
    const named = namedUnit(path);
    if (named !== undefined) return await renderUnit(named, render);
    const info = await stat(path);
    if (info.isDirectory()) {
      const units = await manifestUnits(path, notes, new Set([await realpath(path)]));
      if (units.length === 0) {
        throw new LintError(
          "LINT_NO_MANIFESTS",
          `no manifests found in ${path}: it holds no *.yaml, *.yml or *.json file, chart or kustomization (hidden folders are skipped)`,
        );
      }
      const sources: ManifestSource[] = [];
      const referenced = kustomizationReferences(units);
      for (const unit of units) {
        const by = referenced.get(realpathOr(unit.kind === "file" ? unit.path : unit.dir));
        if (by !== undefined) {
          notes.push(
            `skipped ${unit.kind === "file" ? unit.path : unit.dir}: a resource of ${by}, checked as built by it`,
          );
          continue;
        }
        if (unit.kind !== "file") {
          sources.push(...(await renderUnit(unit, render)));
          continue;
        }
        const text = await readCapped(unit.path, notes);
        if (text === undefined) continue;
        const source = fileSource(unit.path, text);
        // A values file met in a walk stays its one line (it names the chart to lint); any other
        // file is marked walked, so one with no object in it is a note (manifests.ts).
        sources.push(source.problem === undefined ? { ...source, walked: true } : source);
      }
      return sources;
    }
    if (info.isFile()) {
      if (info.size > maxInputBytes) throw new LintError("LINT_INPUT_TOO_LARGE", tooLargeMessage(path));
      return [fileSource(path, await readFile(path, "utf8"))];
    }
    if (info.isFIFO() || info.isCharacterDevice()) {
      // Named on purpose, e.g. process substitution `<(helm template …)`: read it as a stream.
      return [{ file: path, text: await readStream(createReadStream(path)) }];
    }
    throw new LintError("LINT_PATH_UNREADABLE", `cannot read ${path}: not a file, folder or pipe`);
  } catch (error) {
    if (error instanceof LintError) throw error;
    if (error instanceof TooLarge) throw new LintError("LINT_INPUT_TOO_LARGE", tooLargeMessage(path));
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT"
        ? "no such file or directory"
        : code === "EACCES"
          ? "permission denied"
          : (error as Error).message;
    throw new LintError("LINT_PATH_UNREADABLE", `cannot read ${path}: ${reason}`, { cause: error });
  }
}

const kustomizationReferenceFields = ["resources", "bases", "components"] as const;

/**
 * What the kustomizations found in a walk take in as resources, bases or components: the real
 * path of each local entry (relative to the kustomization's folder, as kustomize reads them;
 * sigs.k8s.io/kustomize/api's kustomization fields `resources`, `bases`, `components`), mapped to
 * the kustomization file naming it. A base/ and an overlays/prod/ that names it were each built,
 * so base's objects were checked twice; a unit in this map is left to the build that takes it in.
 * Remote entries (URLs, git repositories) are not on disk and are ignored.
 */
function kustomizationReferences(units: readonly Unit[]): Map<string, string> {
  // Each kustomization's real folder, its file, and the real paths of its local entries.
  const graph = new Map<string, { file: string; targets: Set<string> }>();
  for (const unit of units) {
    if (unit.kind !== "kustomization") continue;
    const file = kustomizationIn(unit.dir);
    if (file === undefined) continue;
    let document: unknown;
    try {
      if (statSync(file).size > maxInputBytes) continue;
      document = parse(readFileSync(file, "utf8"));
    } catch {
      continue; // kustomize reports a kustomization it cannot read when it builds it
    }
    if (typeof document !== "object" || document === null) continue;
    const self = realpathOr(unit.dir);
    const targets = new Set<string>();
    for (const field of kustomizationReferenceFields) {
      const entries = (document as Record<string, unknown>)[field];
      if (!Array.isArray(entries)) continue;
      for (const entry of entries) {
        if (typeof entry !== "string" || entry.includes("://") || entry.startsWith("git@")) continue;
        const target = realpathOr(resolve(unit.dir, entry));
        if (target !== self) targets.add(target);
      }
    }
    graph.set(self, { file, targets });
  }
  // Whether `from` takes in `to`, directly or through other kustomizations of the walk.
  const reaches = (from: string, to: string): boolean => {
    const seen = new Set<string>();
    const queue = [from];
    for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
      for (const target of graph.get(next)?.targets ?? []) {
        if (target === to) return true;
        if (!seen.has(target)) {
          seen.add(target);
          queue.push(target);
        }
      }
    }
    return false;
  };
  const referenced = new Map<string, string>();
  for (const [referrer, { file, targets }] of graph) {
    for (const target of targets) {
      // In a cycle (which kustomize refuses) neither is skipped, so its build error is reported.
      if (!reaches(target, referrer)) referenced.set(target, file);
    }
  }
  return referenced;
}

/** The real path of `path`, or `path` resolved when it does not exist. */
function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** A regular file found in a folder, or undefined (with a note) when it is too large. */
async function readCapped(file: string, notes: string[]): Promise<string | undefined> {
  const info = await stat(file);
  if (info.size > maxInputBytes) {
    notes.push(`skipped ${file}: ${tooLargeMessage("it")}`);
    return undefined;
  }
  return readFile(file, "utf8");
}

/**
 * Manifest files, charts and kustomizations under `folder`; `visited` holds the real paths of
 * folders already walked. A chart or kustomization folder is one unit, not walked into.
 */
async function manifestUnits(folder: string, notes: string[], visited: Set<string>): Promise<Unit[]> {
  const entries = (await readdir(folder, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  const files: Unit[] = [];
  for (const entry of entries) {
    const path = join(folder, entry.name);
    let isDirectory = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      try {
        const target = await stat(path);
        isDirectory = target.isDirectory();
        isFile = target.isFile();
      } catch {
        notes.push(`skipped ${path}: a symbolic link to nothing readable`);
        continue;
      }
    }
    if (isDirectory) {
      if (entry.name.startsWith(".")) continue;
      const real = await realpath(path);
      if (visited.has(real)) {
        notes.push(`skipped ${path}: a link to a folder already read (${real})`);
        continue;
      }
      visited.add(real);
      const unit = folderUnit(path);
      files.push(...(unit ? [unit] : await manifestUnits(path, notes, visited)));
    } else if (manifestFile.test(entry.name)) {
      if (isFile) files.push({ kind: "file", path });
      else notes.push(`skipped ${path}: not a regular file (a pipe, socket or device would block or never end)`);
    }
  }
  return files;
}

async function readStream(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > maxInputBytes) {
      stream.destroy();
      throw new TooLarge();
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
