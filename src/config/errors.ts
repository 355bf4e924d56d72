import { GatewayError } from "../errors.ts";

/** A configuration that cannot be used; raised at start-up, before anything listens. */
export class ConfigError extends GatewayError {}

/**
 * Why a file could not be read, in words: Node's own text (`ENOENT: no such file or directory,
 * open '/tls/tls.crt'`) repeats the path and leads with an errno name.
 */
export function fileProblem(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return `permission denied (this process runs as uid ${process.getuid?.() ?? "?"})`;
    case "EISDIR":
      return "a directory, not a file";
    case "ENOTDIR":
      return "a part of the path is not a directory";
    default:
      return error.message;
  }
}

/** The ConfigError for a file a setting names that cannot be read: `--tls-cert-file: /tls/tls.crt: no such file`. */
export function unreadableFile(code: string, setting: string, path: string, error: unknown): ConfigError {
  return new ConfigError(code, `${setting}: ${path}: ${fileProblem(error as NodeJS.ErrnoException)}`, {
    cause: error,
  });
}
