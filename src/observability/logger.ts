// JSON-lines logging to stderr. Callers pass fields, never tokens: the request pipeline logs a
// token's SHA-256 prefix at most.
import type { LogLevel } from "../config/serve-config.ts";

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (l) => process.stderr.write(l),
  /** Fields every line carries, e.g. the worker of `serve --workers`. */
  base?: LogFields,
): Logger {
  const threshold = order[level];
  const log = (at: LogLevel) => (msg: string, fields?: LogFields) => {
    if (order[at] < threshold) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: at, msg, ...base, ...fields })}\n`);
  };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}
