import type { Command } from "../command.ts";

export const token: Command = {
  name: "token",
  summary: "decode and verify a token locally and show the identity the API server would see",
  trackedIn: "issue #8",
  help: `Usage: kube-oidc-gateway token [flags] < token-file

Reads a token from standard input, a file or an environment variable (never from the command
line, where it would land in shell history), prints its header and claims with readable times,
verifies it against its issuer, and shows the username and groups kube-apiserver would derive
from it under a given configuration, or exactly which check rejects it and why. The raw token
is never printed.`,
};
