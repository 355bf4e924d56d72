// What a lint run reports: one finding per misconfiguration, pinned to a file and line.

export type Severity = "error" | "warning" | "info";

export const severities: readonly Severity[] = ["error", "warning", "info"];

/** Higher is worse; used for --fail-on thresholds and sorting. */
export const severityRank: Readonly<Record<Severity, number>> = { error: 3, warning: 2, info: 1 };

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string | undefined;
}

export interface Finding {
  readonly ruleId: string;
  readonly severity: Severity;
  /** The path the user named (or `<stdin>`). */
  readonly file: string;
  /** 1-based line and column of the offending field in `file`. */
  readonly line: number;
  readonly column: number;
  /** The template a `helm template` document came from (its `# Source:` comment). */
  readonly source: string | undefined;
  /** Absent only for findings about a document that did not parse. */
  readonly object: ObjectRef | undefined;
  readonly message: string;
  readonly fix: string;
  readonly docs: string;
}

/** `Kind namespace/name`, or `Kind name` for cluster-scoped (or namespace-less) objects. */
export function formatObjectRef(ref: ObjectRef | undefined): string {
  if (!ref) return "(document)";
  return `${ref.kind || "(no kind)"} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name || "(no name)"}`;
}
