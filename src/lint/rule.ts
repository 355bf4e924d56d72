// The shape every lint rule has: kube-linter's name / description / remediation, a default
// severity that configuration may change (as in Polaris), and a check over the whole set of
// objects so a rule can relate several of them (a policy and the Service behind its port).
import type { Severity } from "./finding.ts";
import type { ManifestObject, Path, Position } from "./manifests.ts";

export interface RuleInfo {
  readonly id: string;
  readonly severity: Severity;
  /** One line, for --help and indexes. */
  readonly title: string;
  /** What the rule detects and why it breaks OIDC login. */
  readonly description: string;
  /** How to fix what it detects. */
  readonly remediation: string;
}

export interface RuleContext {
  readonly objects: readonly ManifestObject[];
  /** The access-token lifetime the lint configuration states, in milliseconds. */
  readonly tokenLifetimeMs: number | undefined;
}

export interface RuleHit {
  /** The object the finding is reported on (its annotations may disable or re-grade it). */
  readonly object: ManifestObject;
  /** The offending field, relative to the object. */
  readonly path: Path;
  /** Overrides `path` for fields inside embedded documents. */
  readonly position?: Position;
  readonly message: string;
  readonly fix: string;
  /** Overrides the rule's default severity for this finding. */
  readonly severity?: Severity;
  /**
   * The most severe this finding may be graded by the rule or the config file, for findings
   * that are likely but not certain (an object's own severity annotation still decides).
   */
  readonly ceiling?: Severity;
}

export interface Rule extends RuleInfo {
  check(context: RuleContext): Iterable<RuleHit>;
}
