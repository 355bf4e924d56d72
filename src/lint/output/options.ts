// What every output format is given besides the report.
import { type DocsSection, docsLink } from "../../docs/links.ts";

export interface OutputOptions {
  /** --docs-base-url: where the pages are served; without it findings name the explain command. */
  readonly docsBaseUrl?: URL;
  /** The directory SARIF's artifact locations are relative to (default: the working directory). */
  readonly cwd?: string;
}

/** A finding's documentation as machine-readable output gives it: the page's URL, else the explain command. */
export function findingDocs(ruleId: string, options: OutputOptions, section: DocsSection = "lint"): string {
  return docsLink(section, ruleId, options.docsBaseUrl);
}
