// SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html) as GitHub code
// scanning reads it: every rule in tool.driver.rules, every result pointing at its rule by id
// and index, with the real start line and column of the offending field.
//
// Artifact locations are URIs relative to the working directory, under the uriBaseId
// %SRCROOT% (the name GitHub code scanning and most SARIF viewers use for the checkout), with the
// base itself given in run.originalUriBaseIds (SARIF 2.1.0 §3.4.4 uriBaseId, §3.14.14
// originalUriBaseIds). Each path segment is percent-encoded on its own (encodeURIComponent), so
// '#', '?' and '%' in file names stay part of the path instead of starting a fragment or query.
//
// Each rule's help.text is its remediation and names `kube-oidc-gateway explain <rule-id>`;
// help.markdown is the rule's page, which GitHub code scanning displays with each alert
// (https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning);
// helpUri is given only with --docs-base-url (see src/docs/links.ts).

import { isAbsolute, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { docsUrl, embeddablePage, explainCommand } from "../../docs/links.ts";
import { formatObjectRef, type Severity } from "../finding.ts";
import { stdinName } from "../inputs.ts";
import type { LintReport } from "../lint.ts";
import type { OutputOptions } from "./options.ts";
import { toolName, toolVersion } from "./tool.ts";

const level: Readonly<Record<Severity, "error" | "warning" | "note">> = {
  error: "error",
  warning: "warning",
  info: "note",
};

export const sourceRootId = "%SRCROOT%";

const encodeSegments = (segments: readonly string[]) => segments.map(encodeURIComponent).join("/");

interface ArtifactLocation {
  readonly uri: string;
  readonly uriBaseId?: string;
}

/**
 * Where a finding's file is: relative to `cwd` under %SRCROOT%, or an absolute file: URI for a
 * file outside it. Standard input has no path; it keeps the relative reference `%3Cstdin%3E`.
 */
export function artifactLocation(file: string, cwd: string): ArtifactLocation {
  if (file === stdinName) return { uri: encodeURIComponent(file) };
  const path = relative(cwd, resolve(cwd, file));
  if (path === "" || path.startsWith("..") || isAbsolute(path)) return { uri: pathToFileURL(resolve(cwd, file)).href };
  return { uri: encodeSegments(path.split(sep)), uriBaseId: sourceRootId };
}

/** The working directory as a file: URI ending in '/', as §3.14.14 requires of a base. */
function baseUri(cwd: string): string {
  const href = pathToFileURL(cwd).href;
  return href.endsWith("/") ? href : `${href}/`;
}

export function formatSarif(report: LintReport, options: OutputOptions = {}): string {
  const cwd = options.cwd ?? process.cwd();
  const base = options.docsBaseUrl;
  const ruleIndex = new Map(report.rules.map((status, index) => [status.info.id, index]));
  const sarif = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: toolName,
            version: toolVersion,
            rules: report.rules.map(({ info, enabled, severity }) => ({
              id: info.id,
              shortDescription: { text: info.title },
              fullDescription: { text: info.description },
              // GitHub code scanning shows help.markdown beside each alert, instead of help.text
              // ("SARIF support for code scanning", reportingDescriptor object): the rule's whole
              // page, so it opens there with no docs base configured.
              help: {
                text: `${info.remediation} (${explainCommand(info.id)})`,
                markdown: embeddablePage("lint", info.id, base),
              },
              // §3.49.12 helpUri is "an absolute URI": the page under --docs-base-url, or none
              // at all (a file: URL inside the package opened only on the machine that ran lint).
              ...(base ? { helpUri: docsUrl("lint", info.id, base) } : {}),
              defaultConfiguration: { level: level[severity], enabled },
            })),
          },
        },
        originalUriBaseIds: { [sourceRootId]: { uri: baseUri(cwd) } },
        columnKind: "utf16CodeUnits",
        results: report.findings.map((f) => ({
          ruleId: f.ruleId,
          ruleIndex: ruleIndex.get(f.ruleId),
          level: level[f.severity],
          message: { text: `${f.message}. Fix: ${f.fix}` },
          locations: [
            {
              physicalLocation: {
                artifactLocation: artifactLocation(f.file, cwd),
                region: { startLine: f.line, startColumn: f.column },
              },
              ...(f.object ? { logicalLocations: [{ name: formatObjectRef(f.object), kind: "resource" }] } : {}),
            },
          ],
          properties: { fix: f.fix, ...(f.source ? { source: f.source } : {}) },
        })),
      },
    ],
  };
  return `${JSON.stringify(sarif, null, 2)}\n`;
}
