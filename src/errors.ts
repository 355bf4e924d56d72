// The base of every error kube-oidc-gateway raises on purpose: a stable, machine-readable
// code (tests and logs match on it, never on wording) and a message for people.
export class GatewayError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
