// Typed views over the plain objects of manifests: the pod template of every workload kind,
// containers with their paths, command-line flags and environment variables. Every accessor
// tolerates missing or odd fields: lint reads whatever people write, valid or not.
import { isRecord, type ManifestObject, type Path } from "./manifests.ts";

export type Json = Record<string, unknown>;

export const asRecord = (value: unknown): Json => (isRecord(value) ? value : {});
export const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
export const asString = (value: unknown): string | undefined =>
  typeof value === "string"
    ? value
    : typeof value === "number" || typeof value === "boolean"
      ? String(value)
      : undefined;

/** Reads the value at `path` inside `value`. */
export function at(value: unknown, path: Path): unknown {
  let current = value;
  for (const segment of path) {
    if (Array.isArray(current) && typeof segment === "number") current = current[segment];
    else if (isRecord(current)) current = current[String(segment)];
    else return undefined;
  }
  return current;
}

/** Where each workload kind keeps its pod template (apps/v1, batch/v1, core/v1). */
const podTemplatePaths: Readonly<Record<string, Path>> = {
  Deployment: ["spec", "template"],
  StatefulSet: ["spec", "template"],
  DaemonSet: ["spec", "template"],
  ReplicaSet: ["spec", "template"],
  ReplicationController: ["spec", "template"],
  Job: ["spec", "template"],
  CronJob: ["spec", "jobTemplate", "spec", "template"],
};

export interface Workload {
  readonly object: ManifestObject;
  readonly namespace: string | undefined;
  /** The pod spec and where it is, relative to the object. */
  readonly spec: Json;
  readonly specPath: Path;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** The pod spec of a Pod or of any workload's template; undefined for other kinds. */
export function workloadOf(object: ManifestObject): Workload | undefined {
  if (object.kind === "Pod") {
    const metadata = asRecord(object.body.metadata);
    return {
      object,
      namespace: object.namespace,
      spec: asRecord(object.body.spec),
      specPath: ["spec"],
      labels: stringMap(metadata.labels),
      annotations: stringMap(metadata.annotations),
    };
  }
  const templatePath = podTemplatePaths[object.kind];
  if (!templatePath) return undefined;
  const template = asRecord(at(object.body, templatePath));
  const metadata = asRecord(template.metadata);
  return {
    object,
    namespace: object.namespace,
    spec: asRecord(template.spec),
    specPath: [...templatePath, "spec"],
    labels: stringMap(metadata.labels),
    annotations: stringMap(metadata.annotations),
  };
}

export function workloadsOf(objects: readonly ManifestObject[]): Workload[] {
  return objects.map(workloadOf).filter((w): w is Workload => w !== undefined);
}

export interface Container {
  readonly workload: Workload;
  readonly body: Json;
  /** Path relative to the object, e.g. `["spec", "template", "spec", "containers", 0]`. */
  readonly path: Path;
  readonly name: string;
  readonly image: string;
}

/** Regular and init containers (ephemeral containers never serve traffic or run probes). */
export function containersOf(workload: Workload): Container[] {
  const result: Container[] = [];
  for (const field of ["initContainers", "containers"]) {
    asArray(workload.spec[field]).forEach((body, index) => {
      if (!isRecord(body)) return;
      result.push({
        workload,
        body,
        path: [...workload.specPath, field, index],
        name: asString(body.name) ?? "",
        image: asString(body.image) ?? "",
      });
    });
  }
  return result;
}

export function stringMap(value: unknown): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, raw] of Object.entries(asRecord(value))) {
    const text = asString(raw);
    if (text !== undefined) result[key] = text;
  }
  return result;
}

export function annotationsOf(object: ManifestObject): Record<string, string> {
  return stringMap(asRecord(object.body.metadata).annotations);
}

/** Objects in the same namespace; a namespace left unset (common in `helm template` output) matches any. */
export function sameNamespace(a: string | undefined, b: string | undefined): boolean {
  return a === undefined || b === undefined || a === b;
}

// ---- Command lines -------------------------------------------------------------------------

export interface CommandLineFlag {
  readonly name: string;
  /** Undefined for a flag given without a value (`--flag`). */
  readonly value: string | undefined;
  readonly path: Path;
}

/**
 * The `--name=value` / `--name value` / `-name=value` flags in a container's command and args,
 * in order (pflag and Go's flag package both accept one or two dashes).
 */
export function commandLineFlags(container: Container): CommandLineFlag[] {
  const words: { text: string; path: Path }[] = [];
  for (const field of ["command", "args"]) {
    asArray(container.body[field]).forEach((word, index) => {
      // An unquoted `- --flag=value:` is a one-key mapping to YAML; read it as meant (the
      // apiserver-oidc-flags rule reports the quoting).
      const text = isRecordWord(word) ? `${Object.keys(word as Json)[0]}:` : asString(word);
      if (text !== undefined) words.push({ text, path: [...container.path, field, index] });
    });
  }
  return flagsOfWords(words);
}

export function flagsOfWords(words: readonly { text: string; path: Path }[]): CommandLineFlag[] {
  const flags: CommandLineFlag[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (!word) continue;
    const match = /^--?([A-Za-z0-9][\w.-]*)(?:=(.*))?$/s.exec(word.text.trim());
    if (!match?.[1]) continue;
    let value = match[2];
    const next = words[i + 1];
    if (value === undefined && next && !next.text.startsWith("-")) {
      value = next.text;
      i++;
    }
    flags.push({ name: match[1], value, path: word.path });
  }
  return flags;
}

/** A command or args item that YAML read as a one-key mapping (`- --flag=value:` unquoted). */
export function isRecordWord(word: unknown): boolean {
  return isRecord(word) && Object.keys(word).length === 1 && Object.values(word)[0] === null;
}

/** The last value of flag `name` (the one pflag keeps). */
export function flagValue(flags: readonly CommandLineFlag[], name: string): CommandLineFlag | undefined {
  return flags.filter((f) => f.name === name).at(-1);
}

export interface EnvVar {
  readonly name: string;
  /** Undefined for `valueFrom`. */
  readonly value: string | undefined;
  readonly path: Path;
}

export function envOf(container: Container): EnvVar[] {
  const result: EnvVar[] = [];
  asArray(container.body.env).forEach((entry, index) => {
    const env = asRecord(entry);
    const name = asString(env.name);
    if (name !== undefined) result.push({ name, value: asString(env.value), path: [...container.path, "env", index] });
  });
  return result;
}

export function envVar(container: Container, name: string): EnvVar | undefined {
  return envOf(container)
    .filter((e) => e.name === name)
    .at(-1);
}

/** Whether the container runs `program`: its image repository or its command's first word. */
export function runs(container: Container, program: RegExp): boolean {
  const repository = container.image.replace(/@.*$/, "").replace(/:[^/:]*$/, "");
  const command = asString(asArray(container.body.command)[0]) ?? "";
  return program.test(repository.split("/").at(-1) ?? "") || program.test(command.split("/").at(-1) ?? "");
}

// ---- Ports ---------------------------------------------------------------------------------

export interface ContainerPort {
  readonly name: string | undefined;
  readonly port: number;
  readonly protocol: string;
}

export function containerPorts(container: Container): ContainerPort[] {
  return asArray(container.body.ports).flatMap((entry) => {
    const port = asRecord(entry);
    const number = Number(port.containerPort);
    if (!Number.isInteger(number)) return [];
    return [{ name: asString(port.name), port: number, protocol: asString(port.protocol) ?? "TCP" }];
  });
}

/** A port given as a number or a numeric string; undefined for names and garbage. */
export function portNumber(value: unknown): number | undefined {
  const text = asString(value);
  if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
  return Number(text);
}
