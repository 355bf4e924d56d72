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

/**
 * A command as the command table lists it: its name and summary, and how to load the rest. The
 * module is imported only when the command runs or its help is asked for, so `--help`,
 * `--version` and each command load no other command's code (serve's pulls in the whole gateway).
 * Adding a command is one entry in main.ts's table; test/cli/main.test.ts checks that each
 * entry's name and summary are those of the command it loads.
 */
export interface CommandEntry {
  readonly name: string;
  /** One line for the command list; the same as the loaded command's. */
  readonly summary: string;
  readonly load: () => Promise<Command>;
}
