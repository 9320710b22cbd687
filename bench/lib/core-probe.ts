// How many cores this process gets right now with k busy threads: k worker threads spin for a
// fixed time and the process's CPU time is divided by the wall time. On a machine shared with other
// sessions (Linux autogroup scheduling gives each session one fair share, whatever its thread
// count), two busy threads may get no more CPU than one; a simulator that assumes a core per worker
// needs this to predict a threaded run (simulatePipeline's computeScale).
import { Worker } from 'node:worker_threads';

const SPIN = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (ms) => {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  parentPort.postMessage(x > 0);
});`;

/** `threads` spinning worker threads, reused across probes; `close` stops them. */
export class CoreProbe {
  private readonly workers: Worker[];

  constructor(threads: number) {
    if (!Number.isInteger(threads) || threads < 1)
      throw new Error(`CoreProbe: threads must be a positive integer, got ${threads}`);
    this.workers = Array.from({ length: threads }, () => new Worker(SPIN, { eval: true }));
  }

  /** Cores the process got while `k` of the threads spun for `ms` (process CPU ms / wall ms). */
  async cores(k: number, ms: number): Promise<number> {
    if (!Number.isInteger(k) || k < 1 || k > this.workers.length)
      throw new Error(`CoreProbe: k must be in 1..${this.workers.length}, got ${k}`);
    const cpu = process.cpuUsage();
    const start = performance.now();
    await Promise.all(
      this.workers.slice(0, k).map(
        (w) =>
          new Promise<void>((resolve) => {
            w.once('message', () => resolve());
            w.postMessage(ms);
          }),
      ),
    );
    const wall = performance.now() - start;
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / 1000 / wall;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
