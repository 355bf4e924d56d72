// A kubeconfig's exec credential plugin (kubelogin, aws, gke-gcloud-auth-plugin…), run the way
// client-go runs it (k8s.io/client-go/plugin/pkg/client/auth/exec/exec.go): the command with its
// args and env, KUBERNETES_EXEC_INFO describing a non-interactive call, and the token read from
// the ExecCredential it prints. For an OIDC user's kubeconfig this is the very token kubectl
// sends, so doctor can check it without the user exporting anything.
import { execFile } from "node:child_process";
import { dirname, isAbsolute, resolve } from "node:path";

export interface ExecConfig {
  readonly apiVersion?: string;
  readonly command: string;
  readonly args?: readonly string[];
  readonly env?: readonly { readonly name: string; readonly value: string }[] | null;
}

export function execConfigOf(user: Record<string, unknown> | undefined): ExecConfig | undefined {
  const exec = user?.exec as Partial<ExecConfig> | undefined;
  return exec && typeof exec.command === "string" ? (exec as ExecConfig) : undefined;
}

/** Runs the plugin and returns its bearer token; throws with the plugin's own words otherwise. */
export function execCredentialToken(
  exec: ExecConfig,
  kubeconfigPath: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<string> {
  const apiVersion = exec.apiVersion ?? "client.authentication.k8s.io/v1";
  // client-go resolves a command with a path separator relative to the kubeconfig's folder.
  const command =
    exec.command.includes("/") && !isAbsolute(exec.command)
      ? resolve(dirname(kubeconfigPath), exec.command)
      : exec.command;
  const childEnv: NodeJS.ProcessEnv = {
    ...env,
    ...Object.fromEntries((exec.env ?? []).map((e) => [e.name, e.value])),
    KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion, kind: "ExecCredential", spec: { interactive: false } }),
  };
  return new Promise((resolvePromise, reject) => {
    execFile(
      command,
      [...(exec.args ?? [])],
      { env: childEnv, timeout: timeoutMs, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error) {
          const detail = stderr.trim().split("\n").slice(-3).join(" | ");
          return reject(
            new Error(
              `the kubeconfig's exec plugin ${exec.command} failed: ${error.killed ? `no answer within ${timeoutMs} ms (it may be waiting for a browser login: log in with kubectl first)` : error.message.split("\n")[0]}${detail ? `: ${detail}` : ""}`,
            ),
          );
        }
        let token: unknown;
        try {
          token = (JSON.parse(stdout) as { status?: { token?: unknown } }).status?.token;
        } catch {
          return reject(new Error(`the kubeconfig's exec plugin ${exec.command} did not print an ExecCredential`));
        }
        if (typeof token !== "string" || token === "") {
          return reject(
            new Error(
              `the kubeconfig's exec plugin ${exec.command} gave no token (client certificates are not supported here)`,
            ),
          );
        }
        resolvePromise(token);
      },
    );
  });
}
