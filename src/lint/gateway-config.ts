// kube-oidc-gateway's settings as `serve` merges them (src/config/serve-config.ts): flags win,
// then KOG_* environment variables, then the --config file (or KOG_CONFIG), then the defaults.
// The file is followed into the input: its path is resolved through the container's
// volumeMounts (the longest mountPath holding it; subPath honoured) to the pod volume (a
// configMap volume, or a projected volume's configMap sources, with their optional items
// key → path), then to the ConfigMap of that name in the input (same namespace, or either left
// unset as elsewhere in lint) and its data[key], read as YAML whose keys are serve's flag names
// (lists as arrays, maps as objects, as src/config/flags.ts `valuesFromFile` reads them).
//
// Anything that cannot be followed — a relative path without workingDir, a subPathExpr, a
// Secret or other volume, a ConfigMap not in the input, a file that does not parse or is not a
// mapping — leaves the file out, with no finding: lint then sees flags and variables only, as
// before it read config files. Variables set through valueFrom have no value here and are
// skipped; unknown keys are skipped (serve refuses them, which is not a lint rule's business).
import { posix } from "node:path";
import { parse as parseYaml } from "yaml";
import { envName, type FlagSpec } from "../config/flags.ts";
import { serveFlags } from "../config/serve-flags.ts";
import { isRecord, type ManifestObject, type Path, type Position } from "./manifests.ts";
import {
  asArray,
  asRecord,
  asString,
  type Container,
  commandLineFlags,
  envVar,
  runs,
  sameNamespace,
} from "./objects.ts";

/** One of the gateway's settings and where it is written. */
export interface GatewaySetting {
  /** The value as text; list values joined with ',', maps as `key=value,…`. */
  readonly value: string;
  /** How it is set, for messages: `--secure-port=8443`, `KOG_SECURE_PORT=8443`, or the file's line. */
  readonly origin: string;
  readonly from: "flag" | "env" | "file";
  /** The object it is written in: the workload for flags and variables, the ConfigMap for the file. */
  readonly object: ManifestObject;
  readonly path: Path;
  /** For file values: the line of the key inside the ConfigMap's data (an embedded document). */
  readonly position?: Position;
}

/** The config file of a gateway container, found in the input. */
export interface GatewayConfigFile {
  /** The path the container passes to --config or KOG_CONFIG. */
  readonly file: string;
  readonly configMap: ManifestObject;
  readonly key: string;
}

export interface GatewaySettings {
  /** Canonical flag name (aliases resolved, e.g. readiness-probe-port → health-port) → setting. */
  readonly settings: ReadonlyMap<string, GatewaySetting>;
  /** Undefined when the container names no config file or it is not in the input. */
  readonly configFile: GatewayConfigFile | undefined;
}

const kubeOidcGateway = /^kube-oidc-gateway$/;

export const isGateway = (container: Container): boolean => runs(container, kubeOidcGateway);

const specOf = (name: string): FlagSpec | undefined =>
  serveFlags.find((s) => s.name === name || s.aliases?.includes(name));

/** The settings of a kube-oidc-gateway container, merged with serve's precedence. */
export function gatewaySettings(container: Container, objects: readonly ManifestObject[]): GatewaySettings {
  const settings = new Map<string, GatewaySetting>();
  const object = container.workload.object;
  const configFile = configFileOf(container, objects);
  if (configFile) {
    for (const [name, setting] of fileSettings(configFile)) settings.set(name, setting);
  }
  for (const spec of serveFlags) {
    const variable = envVar(container, envName(spec.name));
    if (variable?.value === undefined) continue;
    settings.set(spec.name, {
      value: variable.value,
      origin: `${variable.name}=${variable.value}`,
      from: "env",
      object,
      path: variable.path,
    });
  }
  for (const flag of commandLineFlags(container)) {
    const spec = specOf(flag.name);
    if (!spec) continue;
    const value = flag.value ?? (spec.type === "bool" ? "true" : undefined);
    if (value === undefined) continue;
    settings.set(spec.name, { value, origin: `--${flag.name}=${value}`, from: "flag", object, path: flag.path });
  }
  return { settings, configFile };
}

/** --config (the last one) or else KOG_CONFIG, followed to a ConfigMap key in the input. */
export function configFileOf(container: Container, objects: readonly ManifestObject[]): GatewayConfigFile | undefined {
  const flag = commandLineFlags(container)
    .filter((f) => f.name === "config")
    .at(-1);
  // serve: `--config ?? KOG_CONFIG`, so `--config=` (empty) means no file at all.
  const given = flag ? flag.value : envVar(container, envName("config"))?.value;
  if (!given) return undefined;
  return configMapFileAt(container, given, objects);
}

/**
 * The ConfigMap key a file path of the container is, through its volumeMounts and configMap or
 * projected volumes (any program's file: the gateway's --config and --authentication-config,
 * kube-apiserver's --authentication-config).
 */
export function configMapFileAt(
  container: Container,
  given: string,
  objects: readonly ManifestObject[],
): GatewayConfigFile | undefined {
  const workingDir = asString(container.body.workingDir);
  if (!posix.isAbsolute(given) && !workingDir) return undefined;
  const file = posix.resolve(workingDir ?? "/", given);

  const mount = mountOf(container, file);
  if (!mount) return undefined;
  const volume = asArray(container.workload.spec.volumes)
    .map(asRecord)
    .find((v) => v.name === mount.volume);
  if (!volume) return undefined;
  const sources = isRecord(volume.configMap)
    ? [volume.configMap]
    : asArray(asRecord(volume.projected).sources)
        .map((source) => asRecord(source).configMap)
        .filter(isRecord);
  for (const source of sources) {
    const name = asString(source.name);
    if (name === undefined) continue;
    const items = asArray(source.items).map(asRecord);
    if (items.length > 0) {
      // With items only the listed keys appear, each at its path.
      const item = items.find((i) => normalize(asString(i.path) ?? "") === mount.inVolume);
      if (!item) continue;
      const key = asString(item.key);
      if (key === undefined) return undefined;
      const configMap = configMapOf(name, container, objects);
      return configMap && typeof asRecord(configMap.body.data)[key] === "string" ? { file, configMap, key } : undefined;
    }
    // Without items every key is a file named after it (keys hold no '/').
    if (mount.inVolume.includes("/")) continue;
    const configMap = configMapOf(name, container, objects);
    if (configMap && typeof asRecord(configMap.body.data)[mount.inVolume] === "string") {
      return { file, configMap, key: mount.inVolume };
    }
  }
  return undefined;
}

const normalize = (path: string) => posix.normalize(`/${path}`).replace(/^\/+|\/+$/g, "");

/** The volume and the path inside it that `file` is, through the longest mountPath that holds it. */
function mountOf(container: Container, file: string): { volume: string; inVolume: string } | undefined {
  let best: { mountPath: string; mount: Record<string, unknown> } | undefined;
  for (const entry of asArray(container.body.volumeMounts)) {
    const mount = asRecord(entry);
    const raw = asString(mount.mountPath);
    if (!raw) continue;
    const mountPath = posix.normalize(raw).replace(/(.)\/+$/, "$1");
    const holds = file === mountPath || file.startsWith(mountPath === "/" ? "/" : `${mountPath}/`);
    if (holds && (!best || mountPath.length > best.mountPath.length)) best = { mountPath, mount };
  }
  if (!best) return undefined;
  if (asString(best.mount.subPathExpr)) return undefined;
  const volume = asString(best.mount.name);
  if (volume === undefined) return undefined;
  const rest = file.slice(best.mountPath.length);
  const inVolume = normalize(`${asString(best.mount.subPath) ?? ""}/${rest}`);
  // The volume's root is a folder, never the file.
  return inVolume === "" ? undefined : { volume, inVolume };
}

function configMapOf(
  name: string,
  container: Container,
  objects: readonly ManifestObject[],
): ManifestObject | undefined {
  const namespace = container.workload.namespace;
  const candidates = objects.filter(
    (o) => o.kind === "ConfigMap" && o.name === name && sameNamespace(o.namespace, namespace),
  );
  return candidates.find((o) => o.namespace === namespace) ?? candidates[0];
}

function fileSettings({ configMap, key }: GatewayConfigFile): Map<string, GatewaySetting> {
  const settings = new Map<string, GatewaySetting>();
  const text = asRecord(configMap.body.data)[key] as string;
  let parsed: unknown;
  try {
    // As serve reads it: the yaml package's defaults (YAML 1.2), one document.
    parsed = parseYaml(text);
  } catch {
    return settings;
  }
  if (!isRecord(parsed)) return settings;
  // Positions come from the embedded document lint already locates in the outer file.
  const embedded = configMap.embedded(["data", key])[0];
  const where = `${key} of ConfigMap ${configMap.namespace ? `${configMap.namespace}/` : ""}${configMap.name}`;
  for (const [name, raw] of Object.entries(parsed)) {
    const spec = specOf(name);
    if (!spec) continue;
    const value = Array.isArray(raw)
      ? raw.map(String).join(",")
      : isRecord(raw)
        ? Object.entries(raw)
            .map(([k, v]) => `${k}=${String(v)}`)
            .join(",")
        : String(raw);
    const shown = /^[\w./,=-]+$/.test(value) ? value : JSON.stringify(value);
    settings.set(spec.name, {
      value,
      origin: `${name}: ${shown} in ${where}`,
      from: "file",
      object: configMap,
      path: ["data", key],
      position: embedded?.position([name]) ?? configMap.position(["data", key]),
    });
  }
  return settings;
}
