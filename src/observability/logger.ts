// Logging to stderr: JSON lines (the default, for collectors) or text lines for people
// (--log-format=text). Callers pass fields, never tokens: the request pipeline logs a token's
// SHA-256 prefix at most.
import type { LogFormat, LogLevel } from "../config/serve-config.ts";

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Whether a line at `level` is written (to skip building fields nobody reads); absent: assume it is. */
  enabled?(level: LogLevel): boolean;
}

/** A field's value in a text line: bare when it is one plain word, else JSON (quoted, escaped). */
function textValue(value: unknown): string {
  if (typeof value === "string") return /^[\w./:@+-]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value) ?? "null";
}

/**
 * One text line: `time LEVEL message key=value …`, the message quoted when it has spaces, values
 * as textValue writes them. One line per entry (newlines are escaped), so it can still be grepped.
 */
export function textLine(time: string, level: LogLevel, msg: string, fields: LogFields): string {
  let line = `${time} ${level.toUpperCase().padEnd(5)} ${JSON.stringify(msg)}`;
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) line += ` ${key}=${textValue(value)}`;
  return `${line}\n`;
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (l) => process.stderr.write(l),
  /** Fields every line carries, e.g. the worker of `serve --workers`. */
  base?: LogFields,
  format: LogFormat = "json",
): Logger {
  const threshold = order[level];
  const log = (at: LogLevel) => (msg: string, fields?: LogFields) => {
    if (order[at] < threshold) return;
    const time = new Date().toISOString();
    write(
      format === "text"
        ? textLine(time, at, msg, { ...base, ...fields })
        : `${JSON.stringify({ time, level: at, msg, ...base, ...fields })}\n`,
    );
  };
  return {
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    enabled: (at) => order[at] >= threshold,
  };
}
