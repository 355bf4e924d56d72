// `serve --workers=N`: N processes serve the secure port, each a whole gateway with its own event
// loop, so the gateway can use more than one core. node:cluster's primary accepts connections and
// hands each to the next worker (round robin): a client's keep-alive or HTTP/2 connection stays
// with one worker, and each worker keeps its own token cache and issuer keys.
//
// The primary runs no gateway. It starts the workers, starts a new one when one dies (not when
// one fails before it ever listened: a broken certificate or flag would only fail again), serves
// the health port with the workers' combined readiness and metrics, and on SIGTERM stops them
// all, each draining as a single gateway does, then exits.
import cluster, { type Worker } from "node:cluster";
import type { AddressInfo } from "node:net";
import type { ServeConfig } from "../config/serve-config.ts";
import type { Logger } from "../observability/logger.ts";
import { mergeExpositions } from "../observability/metrics.ts";
import { RuntimeMetrics } from "../observability/runtime-metrics.ts";
import type { Gateway, GatewayHealth } from "./gateway.ts";
import { HealthServer } from "./health.ts";

/** Messages between the primary and a worker, over the cluster's IPC channel. */
type ToWorker = { readonly kind: "health"; readonly id: number; readonly metrics: boolean };
type ToPrimary =
  | { readonly kind: "listening"; readonly address: AddressInfo }
  | { readonly kind: "health"; readonly id: number; readonly health: GatewayHealth };

/** How long the primary waits for a worker's health answer before calling it unresponsive. */
const healthAnswerMs = 2_000;
/** A worker that dies sooner than this after it started is restarted only after a growing pause. */
const crashLoopWindowMs = 10_000;

interface Slot {
  readonly index: number;
  worker?: Worker;
  listening: boolean;
  startedAt: number;
  restartDelayMs: number;
}

/** Set in a worker's environment: its slot, 1 to N (a restarted worker keeps its slot's number). */
export const workerIndexVariable = "KUBE_OIDC_GATEWAY_WORKER_INDEX";

export interface PrimaryOptions {
  readonly config: ServeConfig;
  /** The CLI script and its arguments, which every worker runs again. */
  readonly exec: string;
  readonly args: readonly string[];
  readonly logger: Logger;
  /** Resolves when the primary should stop (SIGTERM, SIGINT). */
  readonly stopSignal: Promise<void>;
}

/** The primary process: returns the exit code once every worker has stopped. */
export async function runPrimary({ config, exec, args, logger, stopSignal }: PrimaryOptions): Promise<number> {
  const slots: Slot[] = Array.from({ length: config.workers }, (_, index) => ({
    index: index + 1,
    listening: false,
    startedAt: 0,
    restartDelayMs: 1_000,
  }));
  let stopping = false;
  let healthRequests = 0;
  const pending = new Map<number, (health: GatewayHealth | undefined) => void>();

  let failedStart: ((code: number) => void) | undefined;
  const startFailure = new Promise<number>((resolve) => {
    failedStart = resolve;
  });

  const start = (slot: Slot) => {
    const worker = cluster.fork({ [workerIndexVariable]: String(slot.index) });
    slot.worker = worker;
    slot.listening = false;
    slot.startedAt = Date.now();
    worker.on("message", (message: ToPrimary) => {
      if (message.kind === "listening") {
        slot.listening = true;
        logger.info("worker listening", { worker: slot.index, pid: worker.process.pid });
      } else if (message.kind === "health") {
        pending.get(message.id)?.(message.health);
      }
    });
    worker.on("exit", (code, signal) => {
      if (slot.worker === worker) slot.worker = undefined;
      if (stopping) return;
      if (!slot.listening) {
        logger.error("worker failed to start; stopping", { worker: slot.index, code, signal });
        failedStart?.(code || 1);
        return;
      }
      const crashed = Date.now() - slot.startedAt < crashLoopWindowMs;
      slot.restartDelayMs = crashed ? Math.min(slot.restartDelayMs * 2, 30_000) : 1_000;
      logger.error("worker exited; starting another", {
        worker: slot.index,
        code,
        signal,
        restartInMs: slot.restartDelayMs,
      });
      setTimeout(() => {
        if (!stopping) start(slot);
      }, slot.restartDelayMs).unref();
    });
  };

  // Readiness asks for readiness alone: rendering every worker's metrics (and sending them over
  // IPC) for each probe was the cost of /metrics paid by /readyz.
  const ask = (worker: Worker, metrics: boolean): Promise<GatewayHealth | undefined> =>
    new Promise((resolve) => {
      const id = ++healthRequests;
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve(undefined);
      }, healthAnswerMs);
      pending.set(id, (health) => {
        clearTimeout(timer);
        pending.delete(id);
        resolve(health);
      });
      try {
        worker.send({ kind: "health", id, metrics } satisfies ToWorker);
      } catch {
        // The worker is going away; its slot reports it.
      }
    });

  /** Each slot's health (with its metrics when asked), or why there is none. */
  const askAll = (metrics = false) =>
    Promise.all(
      slots.map(async (slot) => {
        const worker = slot.worker;
        if (!worker?.isConnected()) return { slot, problem: "not running" };
        if (!slot.listening) return { slot, problem: "starting" };
        const health = await ask(worker, metrics);
        return health ? { slot, health } : { slot, problem: `did not answer within ${healthAnswerMs} ms` };
      }),
    );
  // One /readyz asks for readiness and then for degraded conditions: one round of questions to
  // the workers serves both, and probes arriving together, instead of a round each.
  let recent: { at: number; answers: ReturnType<typeof askAll> } | undefined;
  const healths = () => {
    if (!recent || Date.now() - recent.at > 250) recent = { at: Date.now(), answers: askAll() };
    return recent.answers;
  };

  // The primary's own process metrics (worker="0") beside the workers': it is a process of the
  // pod too, and its memory counts.
  const runtime = new RuntimeMetrics(0);
  const health =
    config.serving.healthPort === 0
      ? undefined
      : new HealthServer({
          notReady: async () => {
            if (stopping) return ["shutting down"];
            return (await healths()).flatMap(({ slot, problem, health }) =>
              problem
                ? [`worker ${slot.index}: ${problem}`]
                : (health?.notReady ?? []).map((r) => `worker ${slot.index}: ${r}`),
            );
          },
          degraded: async () => [...new Set((await healths()).flatMap(({ health }) => health?.degraded ?? []))],
          metrics: async () =>
            mergeExpositions([
              ...(await askAll(true)).flatMap(({ health }) => health?.metrics ?? []),
              `${runtime.render()}\n`,
            ]),
        });

  // The health port first: a port it may not bind stops the start before any worker exists
  // (started first, the workers died writing to a primary that had already exited).
  let healthAddress: AddressInfo | undefined;
  try {
    healthAddress = await health?.listen(config.serving.healthPort, config.serving.healthBindAddress);
  } catch (error) {
    runtime.close();
    throw error;
  }
  cluster.setupPrimary({ exec, args: [...args] });
  for (const slot of slots) start(slot);
  logger.info("workers starting", {
    workers: config.workers,
    health: healthAddress ? `${healthAddress.address}:${healthAddress.port}` : "off",
  });

  const outcome = await Promise.race([stopSignal.then(() => 0), startFailure]);
  stopping = true;
  logger.info("stopping the workers", { workers: slots.filter((s) => s.worker).length });
  const exits = slots.flatMap(({ worker }) =>
    worker && !worker.isDead() ? [new Promise<void>((resolve) => worker.once("exit", () => resolve()))] : [],
  );
  for (const { worker } of slots) worker?.process.kill("SIGTERM");
  // Each worker drains for up to the grace period; one that is still there well after is killed.
  const deadline = setTimeout(() => {
    for (const { worker } of slots) if (worker && !worker.isDead()) worker.process.kill("SIGKILL");
  }, config.shutdownGracePeriodMs + 10_000);
  await Promise.all(exits);
  clearTimeout(deadline);
  await health?.close();
  runtime.close();
  logger.info("stopped");
  return outcome;
}

/** In a worker: tells the primary it listens, and answers its health questions. */
export function reportToPrimary(gateway: Gateway): void {
  process.send?.({ kind: "listening", address: gateway.address } satisfies ToPrimary);
  process.on("message", (message: ToWorker) => {
    if (message?.kind !== "health") return;
    process.send?.({
      kind: "health",
      id: message.id,
      health: gateway.health({ metrics: message.metrics }),
    } satisfies ToPrimary);
  });
}

/** This process's slot when it is a worker of `serve --workers`, else undefined. */
export function workerIndex(): number | undefined {
  return cluster.isWorker ? Number(process.env[workerIndexVariable] ?? cluster.worker?.id) : undefined;
}
