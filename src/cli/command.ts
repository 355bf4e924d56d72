// A subcommand of the kube-oidc-gateway CLI. Each lives in its own file under commands/.
import type { Readable } from "node:stream";

/**
 * What a command reads and writes besides its arguments. Handed in rather than taken from
 * `process`, so tests run a command in-process with their own input and capture its output.
 */
export interface CommandContext {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly stdin: Readable;
  readonly env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal (progress lines redraw in place only then). */
  readonly interactive: boolean;
}

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The full `--help` text. */
  readonly help: string;
  /** Runs the command with the arguments after its name and returns the exit code. */
  readonly run: (args: readonly string[], context: CommandContext) => Promise<number>;
}
