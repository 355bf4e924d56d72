// Where the page for a doctor check or a lint rule is, as output names it.
//
// The pages ship inside the package (docs/doctor/<id>.md, docs/lint/<id>.md, beside dist/ in the
// tarball and the image), and `kube-oidc-gateway explain <id>` prints them: that works offline, on
// an air-gapped bastion, and always matches the version that printed the finding. A file: URL to
// the installed page, as output gave before, opens nowhere else: not in GitHub code scanning, not
// on the machine of the colleague the report is pasted to (issue 19).
//
// An absolute URL is given only when the user configures where the docs are served
// (--docs-base-url): the package cannot know the repository or site its users read.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { GatewayError } from "../errors.ts";

export type DocsSection = "doctor" | "lint";

/** The command that prints the page of check or rule `id`. */
export function explainCommand(id: string): string {
  return `kube-oidc-gateway explain ${id}`;
}

export class DocsBaseUrlError extends GatewayError {
  declare readonly code: "DOCS_BASE_URL_INVALID";
  constructor(message: string) {
    super("DOCS_BASE_URL_INVALID", message);
  }
}

/**
 * Parses --docs-base-url: an absolute http(s) URL of the folder holding doctor/ and lint/ (the
 * repository's docs/ folder as a web page, e.g. https://github.com/acme/kube-oidc-gateway/blob/v0.1.0/docs/).
 * A missing trailing '/' is added, so the last segment is kept when pages are resolved against it.
 */
export function parseDocsBaseUrl(text: string): URL {
  if (!URL.canParse(text)) {
    throw new DocsBaseUrlError(
      `--docs-base-url: not an absolute URL: ${JSON.stringify(text)} (give the URL of the docs folder, e.g. https://github.com/<owner>/kube-oidc-gateway/blob/<tag>/docs/)`,
    );
  }
  const url = new URL(text);
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new DocsBaseUrlError(
      `--docs-base-url: ${JSON.stringify(text)} is not an http(s) URL; a ${url.protocol} link opens only on the machine that has the file`,
    );
  }
  if (url.search || url.hash) {
    throw new DocsBaseUrlError(
      `--docs-base-url: ${JSON.stringify(text)} has a query or fragment; give the folder's URL`,
    );
  }
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url;
}

/** The page of check or rule `id` under a docs base: `<base>/<section>/<id>.md`. */
export function docsUrl(section: DocsSection, id: string, base: URL): string {
  return new URL(`${section}/${encodeURIComponent(id)}.md`, base).href;
}

/**
 * What a finding or check result names as its documentation: the page's URL when a docs base is
 * configured, else the explain command.
 */
export function docsLink(section: DocsSection, id: string, base?: URL): string {
  return base ? docsUrl(section, id, base) : explainCommand(id);
}

/** The page shipped in the package, as a path (explain reads it; tests check every id has one). */
export function docsPath(section: DocsSection, id: string): string {
  return fileURLToPath(new URL(`../../docs/${section}/${id}.md`, import.meta.url));
}

/** The folder holding the pages of `section`. */
export function docsFolder(section: DocsSection): string {
  return fileURLToPath(new URL(`../../docs/${section}/`, import.meta.url));
}

/**
 * The page of `id` as Markdown to embed elsewhere (SARIF's help.markdown, which GitHub code
 * scanning shows beside each alert). Its relative links would resolve against whatever page
 * embeds it, so they are made absolute under `base`; without one, a link to another check or rule
 * becomes its explain command and any other relative link its plain label. Absolute links and
 * in-page anchors stay.
 */
export function embeddablePage(section: DocsSection, id: string, base?: URL): string {
  const page = readFileSync(docsPath(section, id), "utf8");
  return page.replace(/\[([^\]\n]*)\]\(([^)\s]+)\)/g, (link, label: string, target: string) => {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#")) return link;
    if (base) return `[${label}](${new URL(target, new URL(`${section}/`, base)).href})`;
    const sibling = /^([a-z0-9-]+)\.md$/.exec(target)?.[1];
    return sibling && sibling !== "README" ? `${label} (\`${explainCommand(sibling)}\`)` : label;
  });
}
