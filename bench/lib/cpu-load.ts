// How busy the machine was while a benchmark variant ran: this process's CPU time and the cores
// other processes kept busy (Linux /proc/stat; NaN elsewhere). On a shared machine the ratios of
// variants timed in the same rounds are what mean anything; these say how shared it was.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Busy and total jiffies of the whole machine (Linux /proc/stat), or null elsewhere. */
function machineTicks(): { busy: number; total: number } | null {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1);
    const ticks = cpu.map(Number);
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - ticks[3] - ticks[4], total };
  } catch {
    return null;
  }
}

export interface CpuTiming<T> {
  value: T;
  /** Wall-clock ms. */
  ms: number;
  /** This process's CPU ms meanwhile (all threads). */
  cpuMs: number;
  /** Cores other processes kept busy meanwhile (machine busy time minus ours); NaN off Linux. */
  othersCores: number;
}

/** Runs `f` and reports its wall time, this process's CPU time and the other processes' load. */
export async function withCpuLoad<T>(f: () => Promise<T> | T): Promise<CpuTiming<T>> {
  const ticks = machineTicks();
  const cpu = process.cpuUsage();
  const start = performance.now();
  const value = await f();
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  const after = machineTicks();
  let othersCores = Number.NaN;
  if (ticks && after && after.total > ticks.total && ms > 0) {
    const busyMs =
      ((after.busy - ticks.busy) / (after.total - ticks.total)) * availableParallelism() * ms;
    othersCores = Math.max(0, (busyMs - cpuMs) / ms);
  }
  return { value, ms, cpuMs, othersCores };
}
