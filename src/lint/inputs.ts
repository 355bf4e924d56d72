// The manifests named on the command line: files (any extension), folders (recursively, every
// *.yaml, *.yml and *.json, skipping hidden folders such as .git), and `-` for standard input.
//
// Only regular files are read from folders: opening a FIFO waits for a writer forever and a
// device may never end, so anything else is skipped with a note. Symbolic links are followed
// (charts and kustomize trees link shared folders), each real folder once, so a link loop ends.
// A path named on the command line may be a pipe, for `lint <(helm template …)`. Every read stops
// at maxInputBytes: a manifest set larger than that is a mistake (a data file, a device), not
// something to hold in memory.
import { createReadStream } from "node:fs";
import { readdir, readFile, realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { LintError } from "./errors.ts";
import type { ManifestSource } from "./manifests.ts";

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

export async function readInputs(paths: readonly string[], stdin: Readable): Promise<Inputs> {
  if (paths.length === 0) {
    throw new LintError("LINT_NO_INPUT", "no input: name files, folders, or - for standard input");
  }
  const sources: ManifestSource[] = [];
  const notes: string[] = [];
  let stdinRead = false;
  for (const path of paths) {
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
      // `helm template` of a chart whose templates are all switched off renders nothing: that
      // is a valid, empty manifest set, not a usage error.
      if (text.trim() === "") notes.push("standard input is empty: no manifests to check");
      sources.push({ file: stdinName, text });
      continue;
    }
    sources.push(...(await readPath(path, notes)));
  }
  return { sources, notes };
}

async function readPath(path: string, notes: string[]): Promise<ManifestSource[]> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) {
      const files = await manifestFiles(path, notes, new Set([await realpath(path)]));
      if (files.length === 0) {
        throw new LintError(
          "LINT_NO_MANIFESTS",
          `no manifests found in ${path}: it holds no *.yaml, *.yml or *.json file (hidden folders are skipped)`,
        );
      }
      const sources: ManifestSource[] = [];
      for (const file of files) {
        const text = await readCapped(file, notes);
        if (text !== undefined) sources.push({ file, text });
      }
      return sources;
    }
    if (info.isFile()) {
      if (info.size > maxInputBytes) throw new LintError("LINT_INPUT_TOO_LARGE", tooLargeMessage(path));
      return [{ file: path, text: await readFile(path, "utf8") }];
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

/** A regular file found in a folder, or undefined (with a note) when it is too large. */
async function readCapped(file: string, notes: string[]): Promise<string | undefined> {
  const info = await stat(file);
  if (info.size > maxInputBytes) {
    notes.push(`skipped ${file}: ${tooLargeMessage("it")}`);
    return undefined;
  }
  return readFile(file, "utf8");
}

/** Manifest files under `folder`; `visited` holds the real paths of folders already walked. */
async function manifestFiles(folder: string, notes: string[], visited: Set<string>): Promise<string[]> {
  const entries = (await readdir(folder, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  const files: string[] = [];
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
      files.push(...(await manifestFiles(path, notes, visited)));
    } else if (manifestFile.test(entry.name)) {
      if (isFile) files.push(path);
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
