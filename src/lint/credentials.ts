// What lint never shows: a value whose name (a flag's, a --set key's) speaks of a credential.
// Findings end up in CI logs, JSON reports and code-scanning alerts (SARIF), which must not carry
// a client secret or a password that was in a manifest or on lint's own command line.

/** Whether a flag or key name speaks of a secret, token, password, key or credential. */
export function namesCredential(name: string): boolean {
  return /secret|token|passw(or)?d|key|credential/i.test(name);
}

export const redacted = "<redacted>";
