// Where a token comes from: a file, an environment variable, or standard input. Never the
// command line: arguments land in shell history and in every `ps` listing on the machine.
import { readFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import { GatewayError } from "../errors.ts";

export type TokenInputFailure = "NO_TOKEN" | "TOKEN_FILE_UNREADABLE" | "TOKEN_ENV_UNSET" | "TOKEN_TOO_LARGE";

export class TokenInputError extends GatewayError {
  declare readonly code: TokenInputFailure;
  constructor(code: TokenInputFailure, message: string) {
    super(code, message);
  }
}

export interface TokenSource {
  /** A file path; `-` means standard input. */
  readonly file?: string;
  /** The name of an environment variable holding the token. */
  readonly envName?: string;
}

/** kube-apiserver refuses request headers beyond 1 MiB; a "token" beyond that is something else. */
const maxTokenBytes = 1 << 20;

/** The token from `source`, with whitespace and a leading "Bearer " removed. */
export async function readToken(
  source: TokenSource,
  io: { readonly stdin: Readable; readonly env: NodeJS.ProcessEnv },
): Promise<string> {
  let text: string;
  let from: string;
  if (source.envName) {
    const value = io.env[source.envName];
    if (value === undefined) {
      throw new TokenInputError("TOKEN_ENV_UNSET", `the environment variable ${source.envName} is not set`);
    }
    text = value;
    from = `$${source.envName}`;
  } else if (source.file && source.file !== "-") {
    try {
      text = await readFile(source.file, "utf8");
    } catch (error) {
      throw new TokenInputError("TOKEN_FILE_UNREADABLE", `--token-file: ${(error as Error).message}`);
    }
    from = source.file;
  } else {
    text = await readAll(io.stdin);
    from = "standard input";
  }
  if (Buffer.byteLength(text) > maxTokenBytes) {
    throw new TokenInputError("TOKEN_TOO_LARGE", `${from} holds more than 1 MiB: that is not a bearer token`);
  }
  const token = text.trim().replace(/^bearer\s+/i, "");
  if (token === "") throw new TokenInputError("NO_TOKEN", `${from} is empty`);
  return token;
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    chunks.push(buffer);
    if (size > maxTokenBytes) break;
  }
  return Buffer.concat(chunks).toString("utf8");
}
