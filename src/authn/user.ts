// The identity a token becomes: what kube-apiserver's authenticator returns (user.Info), and
// what the gateway asks the API server to impersonate.
export interface UserInfo {
  readonly username: string;
  readonly uid?: string;
  readonly groups: readonly string[];
  readonly extra: Readonly<Record<string, readonly string[]>>;
}
