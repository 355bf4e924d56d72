// Parses manifests into objects that remember where each of their fields is written, so every
// finding names a real file:line. Multi-document streams, `kind: List` and `helm template`
// output (whose `# Source: chart/templates/x.yaml` comments name the template of each
// document) are understood; a document that does not parse becomes a syntax problem and the
// other documents are still read.
import {
  type Document,
  type DocumentOptions,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
  Scalar,
  type SchemaOptions,
  type Tags,
} from "yaml";
import type { ObjectRef } from "./finding.ts";

export interface ManifestSource {
  /** The path as the user named it, or `<stdin>`. */
  readonly file: string;
  readonly text: string;
  /**
   * Set when the input could not be read as manifests (a chart that was not rendered, a values
   * file): the one line lint reports for it instead of parsing `text`.
   */
  readonly problem?: InputProblem;
  /**
   * Found while walking a folder, not named: when it holds no Kubernetes object at all (a
   * package.json, a renovate.yaml), it is skipped with a note rather than reported.
   */
  readonly walked?: true;
  /**
   * What produced the text, for documents without helm's `# Source:` comment: a kustomization's
   * findings name its file, and this says their lines are of the build's output.
   */
  readonly source?: string;
}

/** Why an input was not read as manifests, and what to do instead (it names the command). */
export interface InputProblem {
  readonly message: string;
  readonly fix: string;
}

/** A field's address inside an object: keys and list indexes, e.g. `["spec", "ports", 0]`. */
export type Path = readonly (string | number)[];

export interface Position {
  readonly line: number;
  readonly column: number;
}

export interface EmbeddedDocument {
  readonly body: unknown;
  /** Where a field of the embedded document is written in the outer file. */
  position(path: Path): Position;
}

export interface ManifestObject extends ObjectRef {
  readonly body: Readonly<Record<string, unknown>>;
  readonly file: string;
  readonly source: string | undefined;
  /** The line and column of the field at `path`, or of its deepest ancestor that exists. */
  position(path: Path): Position;
  /** The YAML documents held in the string field at `path` (kubeadm patches, ConfigMap data). */
  embedded(path: Path): EmbeddedDocument[];
}

export interface SyntaxProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly source: string | undefined;
  readonly message: string;
  /** What to do, when it is not yaml-syntax's own remediation (fix the syntax). */
  readonly fix?: string;
  /**
   * The text is not broken but is not something lint checks (a chart it could not render, a values
   * file, a document that is no object, binary data): reported as unread-input, not yaml-syntax.
   */
  readonly unread?: true;
}

export interface LoadedManifests {
  readonly objects: ManifestObject[];
  readonly syntaxProblems: SyntaxProblem[];
  /** Files skipped and why, for standard error (walked files with no object in them). */
  readonly notes: string[];
}

const sourceComment = /^# Source: (.+)$/gm;

/**
 * YAML as kubectl and the API server read it: sigs.k8s.io/yaml decodes with go-yaml v2, a YAML
 * 1.1 reader, so `automountServiceAccountToken: no` is false, `on`/`off`/`yes`/`y` are booleans,
 * `0755` is octal and `<<` merges. go-yaml v2 has no base-60 numbers (`1:30`) and leaves
 * timestamps to the target type (a string in an unstructured object), so those 1.1 tags are
 * dropped here and such scalars stay strings.
 */
const timestampTag = "tag:yaml.org,2002:timestamp";
export const kubernetesYaml: DocumentOptions & SchemaOptions = {
  version: "1.1",
  customTags: (tags: Tags) =>
    tags.filter((tag) =>
      typeof tag === "string"
        ? !["intTime", "floatTime", "timestamp"].includes(tag)
        : tag.format !== "TIME" && tag.tag !== timestampTag,
    ),
};

/** Parses every document of every source. */
export function loadManifests(sources: readonly ManifestSource[]): LoadedManifests {
  const objects: ManifestObject[] = [];
  const syntaxProblems: SyntaxProblem[] = [];
  const notes: string[] = [];
  for (const input of sources) {
    const loaded = loadSource(input);
    objects.push(...loaded.objects);
    syntaxProblems.push(...loaded.syntaxProblems);
    notes.push(...loaded.notes);
  }
  return { objects, syntaxProblems, notes };
}

/**
 * Whether a source is not text at all: a NUL, or bytes that are not UTF-8 (read as U+FFFD), in
 * its first 8 KiB. YAML allows neither, and a binary file parsed as YAML gave one error per
 * "line" with its bytes escaped in each (160 KB of output for an image named .yaml).
 */
function binaryKind(text: string): string | undefined {
  const head = text.slice(0, 8192);
  if (!head.includes("\u0000") && !head.includes("\ufffd")) return undefined;
  if (head.startsWith("\ufffdPNG")) return "a PNG image";
  if (head.startsWith("\u007fELF")) return "an ELF executable";
  if (head.startsWith("PK\u0003\u0004")) return "a ZIP archive";
  if (head.startsWith("\u001f\ufffd")) return "a gzip file";
  return "binary data";
}

function loadSource(input: ManifestSource): LoadedManifests {
  const loaded = loadDocuments(input);
  // Review of issue 20: walking a folder (`lint .`) reported package.json, tsconfig.json and
  // renovate.yaml as errors. A walked file whose every document is plainly no object (a list, a
  // scalar, a mapping with neither apiVersion nor kind) is not a manifest: a note, as for other
  // files a walk skips. Named on the command line it stays an error. A mapping with only one of
  // apiVersion and kind is half a manifest and stays an error in a walk too.
  if (
    input.walked &&
    loaded.objects.length === 0 &&
    loaded.syntaxProblems.length > 0 &&
    loaded.syntaxProblems.every((p) => p.unread && plainNonObject.test(p.message))
  ) {
    return { objects: [], syntaxProblems: [], notes: [`skipped ${input.file}: no Kubernetes object in it`] };
  }
  return loaded;
}

/** The messages of documents that have no trace of a Kubernetes object. */
const plainNonObject = /^not a Kubernetes object: (a list|a scalar|a mapping with neither apiVersion nor kind),/;

function loadDocuments({ file, text, problem, source: producedBy }: ManifestSource): LoadedManifests {
  const lineCounter = new LineCounter();
  const objects: ManifestObject[] = [];
  const syntaxProblems: SyntaxProblem[] = [];
  const notes: string[] = [];
  if (problem !== undefined) {
    syntaxProblems.push({ file, line: 1, column: 1, source: undefined, ...problem, unread: true });
    return { objects, syntaxProblems, notes };
  }
  const binary = binaryKind(text);
  if (binary !== undefined) {
    syntaxProblems.push({
      file,
      line: 1,
      column: 1,
      source: undefined,
      message: `not a YAML or JSON manifest: ${binary}`,
      fix: "Name manifests (YAML or JSON), chart folders or kustomizations only.",
      unread: true,
    });
    return { objects, syntaxProblems, notes };
  }
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const templates = [...text.matchAll(sourceComment)].map((m) => ({ offset: m.index, path: m[1]?.trim() ?? "" }));
  const documents = parseAllDocuments(text, { ...kubernetesYaml, lineCounter, uniqueKeys: true });
  const list = Array.isArray(documents) ? documents : [];
  let previousEnd = 0;
  for (const document of list) {
    const start = document.contents?.range[0] ?? document.range[1];
    // helm template writes `---` then `# Source: …` before each document: the last such
    // comment between the previous document and this one names its template.
    const source = templates.filter((t) => t.offset >= previousEnd && t.offset < start).at(-1)?.path ?? producedBy;
    previousEnd = document.contents?.range[1] ?? document.range[1];
    if (document.errors.length > 0) {
      // The first error of a document, as kubectl reports it: the ones after it are mostly its
      // echoes (a text file that is not YAML gave one per line).
      for (const error of document.errors.slice(0, 1)) {
        const position = error.linePos?.[0];
        syntaxProblems.push({
          file,
          line: position?.line ?? at(error.pos[0]).line,
          column: position?.col ?? at(error.pos[0]).column,
          source,
          // The yaml package's first line ends with ':' before a code excerpt that is not kept.
          message: (error.message.split("\n")[0] ?? error.message).replace(/:\s*$/, ""),
        });
      }
      continue;
    }
    let body: unknown;
    try {
      body = document.toJS({ maxAliasCount: 1000 });
    } catch (error) {
      const position = at(start);
      syntaxProblems.push({ ...position, file, source, message: (error as Error).message });
      continue;
    }
    if (body === null || body === undefined) continue;
    // A Keycloak realm export (a mapping with a `realm` name) has no kind but is read: keycloak.ts.
    const realmExport = isRecord(body) && typeof body.realm === "string";
    const missing = isRecord(body) ? missingTypeFields(body) : [];
    if (!isRecord(body) || (missing.length > 0 && !realmExport)) {
      // Not silence (issue 20): a document that is no Kubernetes object is something lint did
      // not check, and a values file or other config named by mistake must not pass as clean.
      syntaxProblems.push({
        ...at(start),
        file,
        source,
        message: `not a Kubernetes object: ${isRecord(body) ? mappingWithout(missing) : Array.isArray(body) ? "a list" : "a scalar"}, so lint checked nothing in it`,
        fix: "Lint manifests only; for a Helm values file, lint the chart it configures: kube-oidc-gateway lint <chart-dir> -f <values>.",
        unread: true,
      });
      continue;
    }
    const locate = (path: Path) => at(offsetOf(document, path));
    const embedded = (path: Path) => embeddedDocuments(document, path, text, lineCounter);
    const items = body.items;
    if (typeof body.kind === "string" && body.kind.endsWith("List") && Array.isArray(items)) {
      items.forEach((item, index) => {
        if (!isRecord(item)) return;
        const prefix = ["items", index];
        objects.push(
          manifestObject(
            item,
            file,
            source,
            (path) => locate([...prefix, ...path]),
            (path) => embedded([...prefix, ...path]),
          ),
        );
      });
      continue;
    }
    objects.push(manifestObject(body, file, source, locate, embedded));
  }
  return { objects, syntaxProblems, notes };
}

function manifestObject(
  body: Record<string, unknown>,
  file: string,
  source: string | undefined,
  position: (path: Path) => Position,
  embedded: (path: Path) => EmbeddedDocument[],
): ManifestObject {
  const metadata = isRecord(body.metadata) ? body.metadata : {};
  return {
    apiVersion: typeof body.apiVersion === "string" ? body.apiVersion : "",
    kind: typeof body.kind === "string" ? body.kind : "",
    name: typeof metadata.name === "string" ? metadata.name : "",
    namespace: typeof metadata.namespace === "string" && metadata.namespace !== "" ? metadata.namespace : undefined,
    body,
    file,
    source,
    position,
    embedded,
  };
}

/** The node at `path`, following aliases; undefined when the path does not exist. */
function nodeAt(document: Document, path: Path): { node: unknown; offset: number; found: boolean } {
  let node: unknown = document.contents;
  let offset = document.contents?.range?.[0] ?? 0;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(document);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return { node, offset, found: false };
      // The key's line, not the value's: `port:\n  443` is reported where `port` is written.
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment] as Node | undefined;
      if (!item) return { node, offset, found: false };
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      return { node, offset, found: false };
    }
  }
  return { node, offset, found: true };
}

function offsetOf(document: Document, path: Path): number {
  return nodeAt(document, path).offset;
}

function embeddedDocuments(document: Document, path: Path, text: string, outer: LineCounter): EmbeddedDocument[] {
  const { node, offset, found } = nodeAt(document, path);
  if (!found || !isScalar(node) || typeof node.value !== "string") return [];
  const scalarStart = outer.linePos(node.range?.[0] ?? offset);
  const block = node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED;
  // The block's indentation is that of its first content line; YAML strips it from every line.
  const lines = text.split("\n");
  const firstContent = lines.slice(scalarStart.line).find((l) => l.trim() !== "") ?? "";
  const blockIndent = /^ */.exec(firstContent)?.[0].length ?? 0;
  const innerCounter = new LineCounter();
  const inner = parseAllDocuments(node.value, { ...kubernetesYaml, lineCounter: innerCounter });
  if (!Array.isArray(inner)) return [];
  const result: EmbeddedDocument[] = [];
  for (const innerDocument of inner) {
    if (innerDocument.errors.length > 0) continue;
    let body: unknown;
    try {
      body = innerDocument.toJS();
    } catch {
      continue;
    }
    result.push({
      body,
      position(innerPath) {
        // A block scalar's content starts on the line after its `|` header, one line of
        // content per line of file; other scalar styles fold lines, so their start is used.
        if (!block) return { line: scalarStart.line, column: scalarStart.col };
        const { line, col } = innerCounter.linePos(offsetOf(innerDocument, innerPath));
        return { line: scalarStart.line + line, column: blockIndent + col };
      },
    });
  }
  return result;
}

/**
 * The type fields a mapping lacks to be a Kubernetes object: both apiVersion and kind are needed,
 * as kubectl's decoders demand (k8s.io/apimachinery@v0.37.2 pkg/runtime/error.go: "Object 'Kind'
 * is missing in '…'" and "Object 'apiVersion' is missing in '…'", returned by the unstructured
 * and JSON decoders). A mapping with only one of them, such as Fluent Bit's values with a
 * top-level `kind: DaemonSet`, is not one. An empty string counts as missing, as there.
 */
export function missingTypeFields(body: Readonly<Record<string, unknown>>): ("apiVersion" | "kind")[] {
  return (["apiVersion", "kind"] as const).filter((field) => typeof body[field] !== "string" || body[field] === "");
}

function mappingWithout(missing: readonly string[]): string {
  return missing.length === 2 ? "a mapping with neither apiVersion nor kind" : `a mapping with no ${missing[0]}`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
