// Errors of the lint command that stop a run before any manifest is judged: a flag, a config
// file or an input path that cannot be used. The CLI turns them into exit code 2.
import { GatewayError } from "../errors.ts";

export type LintErrorCode =
  | "LINT_NO_INPUT"
  | "LINT_PATH_UNREADABLE"
  | "LINT_NO_MANIFESTS"
  | "LINT_INPUT_TOO_LARGE"
  | "LINT_CONFIG_UNREADABLE"
  | "LINT_CONFIG_INVALID"
  | "LINT_UNKNOWN_RULE"
  | "LINT_INVALID_OUTPUT"
  | "LINT_INVALID_FAIL_ON";

export class LintError extends GatewayError {
  declare readonly code: LintErrorCode;
  constructor(code: LintErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}
