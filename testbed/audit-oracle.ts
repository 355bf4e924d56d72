// A client for testbed/kube/cmd/audit-oracle: kube-apiserver's own audit code (k8s.io/apiserver
// v0.37.2 policy loading and evaluation, the legacy line format, the truncate backend) answering
// one JSON line per question. One process serves a whole test file; questions may be asked
// concurrently and are answered in order. The protocol is documented at the top of main.go.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Level, PolicyAttributes } from "../src/audit/types.ts";
import { ensureKubeBinaries } from "./kube-binaries.ts";

/** The gateway's policy attributes, with an absent user sent as null (Go's nil user.Info). */
export type OracleAttributes = Omit<PolicyAttributes, "user"> & {
  readonly user: NonNullable<PolicyAttributes["user"]> | null;
};

export type OracleRequest =
  | { readonly op: "policy"; readonly text: string }
  | { readonly op: "evaluate"; readonly text: string; readonly attributes: OracleAttributes }
  | { readonly op: "legacy"; readonly event: unknown }
  | {
      readonly op: "truncate";
      readonly config: { readonly maxEventSize: number; readonly maxBatchSize: number };
      readonly events: readonly unknown[];
    }
  | { readonly op: "negotiate"; readonly accept: string }
  | {
      readonly op: "sourceIPs";
      readonly headers: Readonly<Record<string, readonly string[]>>;
      readonly remoteAddr: string;
    };

export interface OracleError {
  readonly error: string;
}
export type PolicyAnswer = { readonly ok: true; readonly policy: unknown; readonly lenient: boolean } | OracleError;
export type EvaluateAnswer =
  | { readonly level: Level; readonly omitStages: readonly string[]; readonly omitManagedFields: boolean }
  | OracleError;
export type LegacyAnswer = { readonly line: string } | OracleError;
export type TruncateAnswer =
  | { readonly batches: readonly (readonly Record<string, unknown>[])[]; readonly success: boolean }
  | OracleError;

export type NegotiateAnswer = { readonly negotiable: boolean } | OracleError;
export type SourceIpsAnswer = { readonly ips: readonly string[] } | OracleError;

type AnswerOf<R extends OracleRequest> = R extends { op: "policy" }
  ? PolicyAnswer
  : R extends { op: "evaluate" }
    ? EvaluateAnswer
    : R extends { op: "legacy" }
      ? LegacyAnswer
      : R extends { op: "negotiate" }
        ? NegotiateAnswer
        : R extends { op: "sourceIPs" }
          ? SourceIpsAnswer
          : TruncateAnswer;

export interface AuditOracle {
  ask<R extends OracleRequest>(request: R): Promise<AnswerOf<R>>;
  /**
   * The same, byte for byte: a request given as text is sent as it is (one line of JSON, so an
   * event can be the exact text the gateway wrote, big numbers and all), and the answer comes
   * back as the oracle's line, unparsed (the truncate op's events are the audit codec's bytes;
   * parse with parseKeepingNumbers from src/audit/encode.ts to keep numbers exact).
   */
  askRaw(request: OracleRequest | string): Promise<string>;
  /** Ends the process (stdin closed, then SIGKILL if it lingers). */
  close(): Promise<void>;
}

export interface AuditOracleOptions {
  /** The oracle binary; built with the test bed's kube-apiserver when left out. */
  readonly binary?: string;
  /**
   * The time zone the legacy format prints timestamps in (kube-apiserver prints local time,
   * metav1.MicroTime decodes into time.Local). UTC unless told.
   */
  readonly timeZone?: string;
}

export async function startAuditOracle(options: AuditOracleOptions = {}): Promise<AuditOracle> {
  const binary = options.binary ?? (await ensureKubeBinaries()).auditOracle;
  const child: ChildProcess = spawn(binary, [], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, TZ: options.timeZone ?? "UTC" },
  });
  const stdin = child.stdin;
  const stdout = child.stdout;
  if (!stdin || !stdout || !child.stderr) throw new Error("audit-oracle: no pipes");
  // klog writes the reader's lenient-decoding warnings here; kept for the failure message.
  let stderrTail = "";
  child.stderr.on("data", (d: Buffer) => {
    stderrTail = (stderrTail + d.toString()).slice(-4000);
  });
  const waiting: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure ??= error;
    for (const w of waiting.splice(0)) w.reject(failure);
  };
  createInterface({ input: stdout }).on("line", (line) => {
    const next = waiting.shift();
    if (!next) return fail(new Error(`audit-oracle: an answer nobody asked for: ${line}`));
    next.resolve(line);
  });
  const exited = new Promise<void>((resolve) => {
    child.on("exit", (code, signal) => {
      fail(new Error(`audit-oracle exited (${code ?? signal}); stderr: ${stderrTail}`));
      resolve();
    });
  });
  child.on("error", (error) => fail(new Error(`audit-oracle: ${error.message}`)));
  stdin.on("error", (error) => fail(new Error(`audit-oracle stdin: ${error.message}`)));

  const askRaw = (request: OracleRequest | string): Promise<string> => {
    if (failure) return Promise.reject(failure);
    const line = typeof request === "string" ? request : JSON.stringify(request);
    if (line.includes("\n")) return Promise.reject(new Error("audit-oracle: a request must be one line"));
    return new Promise<string>((resolve, reject) => {
      waiting.push({ resolve, reject });
      stdin.write(`${line}\n`);
    });
  };

  return {
    async ask<R extends OracleRequest>(request: R): Promise<AnswerOf<R>> {
      const line = await askRaw(request);
      try {
        return JSON.parse(line) as AnswerOf<R>;
      } catch {
        throw new Error(`audit-oracle: not JSON: ${line}`);
      }
    },
    askRaw,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      stdin.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
