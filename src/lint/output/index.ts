// The output formats of --output.
import type { LintReport } from "../lint.ts";
import { formatJson } from "./json.ts";
import { formatJunit } from "./junit.ts";
import type { OutputOptions } from "./options.ts";
import { formatSarif } from "./sarif.ts";
import { formatText } from "./text.ts";

export const outputFormats: Readonly<Record<string, (report: LintReport, options?: OutputOptions) => string>> = {
  text: formatText,
  json: formatJson,
  sarif: formatSarif,
  junit: formatJunit,
};
