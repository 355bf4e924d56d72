// `kube-oidc-gateway explain <id>`: prints the page of a doctor check or a lint rule, as shipped in
// the package (docs/doctor/<id>.md, docs/lint/<id>.md). doctor and lint name this command in
// their output instead of a file: URL, which opened only on the machine that printed it.
//
// The ids are the pages present in the package, read from their folders, not the doctor and lint
// registries: importing those costs about 0.7 s (every check and rule module), and this command
// only prints text. test/cli/commands/explain.test.ts holds the two lists equal.
import { readdirSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type DocsSection, docsFolder, docsPath, explainCommand } from "../../docs/links.ts";
import type { Command, CommandContext } from "../command.ts";

export interface ExplainPage {
  readonly id: string;
  readonly section: DocsSection;
  /** The page's first heading without the id, e.g. "issuer, API server and gateway are reachable from here". */
  readonly title: string;
}

const sectionName: Readonly<Record<DocsSection, string>> = { doctor: "doctor check", lint: "lint rule" };

/** Every page explain can print: doctor checks first, then lint rules, each sorted by id. */
export function explainPages(): ExplainPage[] {
  const pages: ExplainPage[] = [];
  for (const section of ["doctor", "lint"] as const) {
    const ids = readdirSync(docsFolder(section))
      .filter((name) => name.endsWith(".md") && name !== "README.md")
      .map((name) => name.slice(0, -3))
      .sort();
    for (const id of ids) {
      const heading = /^# (.*)$/m.exec(readFileSync(docsPath(section, id), "utf8"))?.[1] ?? id;
      const title = heading.startsWith(`${id}:`) ? heading.slice(id.length + 1).trim() : "";
      pages.push({ id, section, title });
    }
  }
  return pages;
}

/** Levenshtein distance, for the closest ids to an unknown one. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * Up to three ids closest to `wanted`: those containing it or contained in it first (a prefix such
 * as "token" names several), then by edit distance to the whole id or to one of its dash-separated
 * words ("tokn" is one edit from token-*), when that distance is at most a third of what was typed;
 * only the best matches, so a near miss is not buried under farther ones.
 */
export function closestIds(wanted: string, ids: readonly string[]): string[] {
  const text = wanted.toLowerCase();
  const limit = Math.max(1, Math.floor(text.length / 3));
  const scored = ids.map((id) => ({
    id,
    score:
      id.includes(text) || text.includes(id)
        ? 0
        : Math.min(distance(text, id), ...id.split("-").map((word) => distance(text, word))),
  }));
  const best = Math.min(...scored.map((s) => s.score));
  return scored
    .filter((s) => s.score === best && s.score <= limit)
    .sort((a, b) => a.id.localeCompare(b.id))
    .slice(0, 3)
    .map((s) => s.id);
}

const help = `Usage: kube-oidc-gateway explain <check-or-rule-id>
       kube-oidc-gateway explain --list

Prints the page of a doctor check or a lint rule: what it checks, why it matters, an example of
its output, and how to fix what it reports. doctor and lint name this command under each
finding ("docs: ${explainCommand("netpath")}"), so the page is one command away, offline, and
always the one for the version that printed the finding. The pages are Markdown, shipped in the
package (docs/doctor/<id>.md, docs/lint/<id>.md), readable as they are or in a Markdown viewer.

lint's SARIF output carries each rule's page itself, which GitHub code scanning shows beside
every alert. To link findings to pages you host as well (JSON docs, SARIF helpUri), give lint or
doctor --docs-base-url (or KOG_DOCS_BASE_URL): the URL of a folder holding doctor/ and lint/, such
as the docs/ folder of the repository at the release you run.

Examples:
  kube-oidc-gateway explain netpath              # a doctor check
  kube-oidc-gateway explain netpol-service-port  # a lint rule
  kube-oidc-gateway explain --list               # every id, with what it is
  kube-oidc-gateway explain issuer-tls | less    # a page at a time

Options:
  --list      list every id: doctor checks, then lint rules
  -h, --help  show this text

Exit status: 0 the page was printed, 2 a usage error: no id, more than one, or an id that is not a
check or rule (the closest ids are named on standard error). The same convention as every
command: 0 success, 1 findings or failures, 2 usage errors.`;

async function run(args: readonly string[], context: CommandContext): Promise<number> {
  const usage = (message: string) => {
    context.stderr(`kube-oidc-gateway explain: ${message}\nRun 'kube-oidc-gateway explain --help' for usage.\n`);
    return 2;
  };
  let list: boolean;
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args: [...args],
      options: { list: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
    if (parsed.values.help) {
      context.stdout(`${help}\n`);
      return 0;
    }
    list = parsed.values.list === true;
    positionals = parsed.positionals;
  } catch (error) {
    return usage((error as Error).message);
  }
  const pages = explainPages();
  if (list) {
    if (positionals.length > 0) return usage("--list takes no id");
    const width = Math.max(...pages.map((p) => p.id.length));
    for (const page of pages) {
      const what = `${sectionName[page.section]}${page.title ? `: ${page.title}` : ""}`;
      context.stdout(`${page.id.padEnd(width)}  ${what}\n`);
    }
    return 0;
  }
  if (positionals.length !== 1) {
    return usage(
      positionals.length === 0
        ? "which check or rule? Give its id, e.g. 'kube-oidc-gateway explain netpath' (--list shows them all)"
        : `one id at a time, got ${positionals.length}: ${positionals.map((p) => JSON.stringify(p)).join(" ")}`,
    );
  }
  const wanted = positionals[0] ?? "";
  const page = pages.find((p) => p.id === wanted);
  if (!page) {
    const close = closestIds(
      wanted,
      pages.map((p) => p.id),
    );
    return usage(
      `no check or rule ${JSON.stringify(wanted)}` +
        (close.length ? `; did you mean ${close.join(", ")}?` : "") +
        " ('kube-oidc-gateway explain --list' shows every id)",
    );
  }
  context.stdout(readFileSync(docsPath(page.section, page.id), "utf8"));
  return 0;
}

export const explain: Command = {
  name: "explain",
  summary: "print the page of a doctor check or lint rule (what it means, how to fix it)",
  help,
  run,
};
