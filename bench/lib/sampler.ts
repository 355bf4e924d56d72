// Samples the RSS of a set of processes while a measurement runs, and meters their CPU.
import { cpuMeter, rssBytes } from "./processes.ts";

export interface ProcessUsage {
  /** Highest summed RSS seen, bytes. */
  readonly peakRss: number;
  /** CPU used, in cores (1 = one core fully busy). */
  readonly cpuCores: number;
}

export async function whileSampling<T>(
  pids: () => readonly number[],
  work: () => Promise<T>,
): Promise<{ value: T; usage: ProcessUsage }> {
  let peakRss = 0;
  const sample = () => {
    peakRss = Math.max(
      peakRss,
      pids().reduce((sum, pid) => sum + rssBytes(pid), 0),
    );
  };
  sample();
  const timer = setInterval(sample, 200);
  const cpu = cpuMeter(pids);
  try {
    const value = await work();
    const cpuCores = cpu();
    sample();
    return { value, usage: { peakRss, cpuCores } };
  } finally {
    clearInterval(timer);
  }
}
