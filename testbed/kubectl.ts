// Runs the test bed's kubectl (built from the same release as its kube-apiserver).
import { execFile } from "node:child_process";

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface KubectlOptions {
  readonly kubectl: string;
  readonly kubeconfig: string;
  /** HOME for kubectl (its discovery cache lives there): a folder of the bed's run. */
  readonly home: string;
  readonly timeoutMs?: number;
}

/** Runs kubectl with `args`; resolves with its exit code and output (never rejects on exit code). */
export function kubectl(options: KubectlOptions, args: readonly string[], input?: string): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      options.kubectl,
      [`--kubeconfig=${options.kubeconfig}`, ...args],
      // A clean environment: no KUBECONFIG or cache directory of the person running the tests.
      { timeout: options.timeoutMs ?? 30_000, env: { PATH: process.env.PATH ?? "", HOME: options.home } },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") return reject(error);
        resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
      },
    );
    child.stdin?.end(input);
  });
}
