// Where the page for a doctor check or a lint rule lives. The docs ship inside the package
// (docs/doctor/<id>.md, docs/lint/<id>.md), so the link is the installed file itself: it works
// offline, on an air-gapped bastion, and always matches the version that printed it.
import { fileURLToPath } from "node:url";

export type DocsSection = "doctor" | "lint";

/** The docs page of check or rule `id` as a file: URL. */
export function docsLink(section: DocsSection, id: string): string {
  return new URL(`../../docs/${section}/${id}.md`, import.meta.url).href;
}

/** The same page as a path, for tests that check every id has one. */
export function docsPath(section: DocsSection, id: string): string {
  return fileURLToPath(docsLink(section, id));
}
