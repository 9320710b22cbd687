import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * The worker entry beside this module: `worker.js` in the compiled dist/, `worker.ts` when frugal
 * runs from its TypeScript sources under tsx.
 */
export function workerEntry(): URL {
  const fromSource = new URL(import.meta.url).pathname.endsWith('.ts');
  return new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url);
}

/**
 * Starts a worker thread on `entry`. A `.js` entry starts directly. A `.ts` entry (tests, benches)
 * starts from a one-line bootstrap that registers tsx's loader inside the worker first: loader
 * hooks registered in the main thread do not reach worker threads on Node 20. Errors of the entry
 * (a failed import included) reach the worker's 'error' event.
 */
export function spawnWorker(entry: URL, options: WorkerOptions): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  // Without tsx (e.g. a Node that strips types itself), the entry is imported as it is.
  const boot = `import('tsx/esm/api').then((tsx) => tsx.register(), () => undefined).then(() => import(${JSON.stringify(entry.href)}));`;
  return new Worker(boot, { ...options, eval: true });
}
