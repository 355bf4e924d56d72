// A subcommand of the kube-oidc-gateway CLI. Each lives in its own file under commands/.

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The full `--help` text. */
  readonly help: string;
  /**
   * Runs the command with the arguments after its name and returns the exit code. Absent while
   * the command is still being built: the CLI then says so instead of pretending to work.
   */
  readonly run?: (args: readonly string[]) => Promise<number>;
  /** The issue that builds the command, named when `run` is absent. */
  readonly trackedIn?: string;
}
