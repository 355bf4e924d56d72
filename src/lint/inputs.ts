// The manifests named on the command line: files (any extension), folders (recursively, every
// *.yaml, *.yml and *.json, skipping hidden folders such as .git), and `-` for standard input.
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { LintError } from "./errors.ts";
import type { ManifestSource } from "./manifests.ts";

export const stdinName = "<stdin>";

const manifestFile = /\.(ya?ml|json)$/i;

export async function readInputs(paths: readonly string[], stdin: Readable): Promise<ManifestSource[]> {
  if (paths.length === 0) {
    throw new LintError("LINT_NO_INPUT", "no input: name files, folders, or - for standard input");
  }
  const sources: ManifestSource[] = [];
  let stdinRead = false;
  for (const path of paths) {
    if (path === "-") {
      if (stdinRead) continue;
      stdinRead = true;
      sources.push({ file: stdinName, text: await readStream(stdin) });
      continue;
    }
    sources.push(...(await readPath(path)));
  }
  return sources;
}

async function readPath(path: string): Promise<ManifestSource[]> {
  try {
    const info = await stat(path);
    if (!info.isDirectory()) return [{ file: path, text: await readFile(path, "utf8") }];
    const sources: ManifestSource[] = [];
    for (const file of await manifestFiles(path)) sources.push({ file, text: await readFile(file, "utf8") });
    return sources;
  } catch (error) {
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

async function manifestFiles(folder: string): Promise<string[]> {
  const entries = (await readdir(folder, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith(".")) files.push(...(await manifestFiles(path)));
    } else if (manifestFile.test(entry.name)) {
      files.push(path);
    }
  }
  return files;
}

async function readStream(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}
