// Starts tfjs-backend-wasm's threaded SIMD build (XNNPACK with a pthread pool) in Node, without
// forking tfjs. Three things stop it in stock tfjs 4.22:
// 1. the flag WASM_HAS_MULTITHREAD_SUPPORT is hard-wired to false under Node;
// 2. the backend hands Emscripten a `blob:` URL for its pthread worker script, and Node's Worker
//    refuses it (ERR_WORKER_PATH); the worker's "load" message also carries the main script as a
//    Blob, which the worker cannot read synchronously;
// 3. the C++ side caps the pool at os.cpus().length / 2 (it assumes two hyperthreads per core),
//    so on a 2-core machine it always gets 1 thread.
// The shim: sets the flag; replaces worker_threads.Worker with a subclass that starts blob: URL
// workers from the worker script's contents (`eval: true`) and rewrites the Blob in "load" to the
// Emscripten main script's file path (every other Worker passes through unchanged); and, while the
// backend initialises, lets os.cpus() report enough entries for the requested count.
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { loadWasmBackend, setThreadedWasmStarter } from '../engine/backend.js';

const require = createRequire(import.meta.url);

interface PthreadWorker {
  loaded?: boolean;
}

/** The part of Emscripten's pthread runtime (`Module.PThread`) the pool reserve needs. */
interface PThreadRuntime {
  unusedWorkers: PthreadWorker[];
  allocateUnusedWorker(): void;
  loadWasmModuleToWorker(worker: PthreadWorker, onFinishedLoading: () => void): void;
}

interface WasmThreadsModule {
  tfjs: { initWithThreadsCount(n: number): void; getThreadsCount(): number };
  PThread?: PThreadRuntime;
}

let installed = false;
const pthreadWorkers = new WeakSet<object>();

function wasmOutDir(): string {
  const main = require.resolve('@tensorflow/tfjs-backend-wasm');
  return main.replace(/dist[\\/][^\\/]*$/, 'wasm-out/');
}

/** Why the threaded build cannot start in this process, or null if it can. */
export function threadedWasmUnavailableReason(): string | null {
  if (typeof process === 'undefined' || !process.versions?.node) return 'not running in Node';
  if (typeof SharedArrayBuffer === 'undefined') return 'SharedArrayBuffer is not available';
  const threadsProbe = new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 4, 1, 3, 1, 1, 10, 11, 1, 9, 0,
    65, 0, 254, 16, 2, 0, 26, 11,
  ]);
  if (!WebAssembly.validate(threadsProbe)) return 'this WebAssembly engine has no threads support';
  try {
    require.resolve(`${wasmOutDir()}tfjs-backend-wasm-threaded-simd.worker.js`);
  } catch {
    return 'the installed @tensorflow/tfjs-backend-wasm has no threaded SIMD build';
  }
  return null;
}

/** Installs the Worker shim (idempotent). Call before the wasm backend initialises. */
export function installThreadedWasmShim(): void {
  if (installed) return;
  const dir = wasmOutDir();
  const { wasmWorkerContents } = require(`${dir}tfjs-backend-wasm-threaded-simd.worker.js`) as {
    wasmWorkerContents: string;
  };
  // tfjs escapes '\n' the same way before making its Blob: the template literal turned the
  // source's "\n" escapes inside string literals into real newlines.
  const workerSource = wasmWorkerContents.replace(/\n/g, '\\n');
  const mainScript = `${dir}tfjs-backend-wasm-threaded-simd.js`;
  const wt = require('node:worker_threads') as typeof import('node:worker_threads');
  const Base = wt.Worker;
  class EmscriptenPthreadWorker extends Base {
    constructor(file: string | URL, options?: import('node:worker_threads').WorkerOptions) {
      if (typeof file === 'string' && file.startsWith('blob:')) {
        super(workerSource, { ...options, eval: true });
        // Pool threads only serve the main thread's synchronous calls: they must not keep the
        // process alive once the program is done.
        pthreadWorkers.add(this);
        this.unref();
      } else {
        super(file, options);
      }
    }
    // Emscripten refs a worker while it runs a pthread, and XNNPACK's pool threads run for the
    // life of the process: a ref would keep Node from ever exiting.
    override ref(): void {
      if (!pthreadWorkers.has(this)) super.ref();
    }
    override postMessage(
      value: unknown,
      transferList?: readonly import('node:worker_threads').TransferListItem[],
    ): void {
      const msg = value as { cmd?: unknown; urlOrBlob?: unknown } | null;
      if (msg && msg.cmd === 'load' && typeof msg.urlOrBlob !== 'string') {
        super.postMessage({ ...msg, urlOrBlob: mainScript }, transferList);
        return;
      }
      super.postMessage(value, transferList);
    }
  }
  (wt as { Worker: typeof Base }).Worker = EmscriptenPthreadWorker;
  installed = true;
}

/**
 * Runs `init` (the wasm backend's initialisation) with the shim in place and the multithread
 * flag on, so that XNNPACK's pool can hold up to `maxThreads` threads.
 */
export async function withThreadedWasm<T>(maxThreads: number, init: () => Promise<T>): Promise<T> {
  installThreadedWasmShim();
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  const os = require('node:os') as typeof import('node:os');
  const realCpus = os.cpus;
  const cpus = realCpus();
  const wanted = Math.max(cpus.length, 2 * maxThreads);
  (os as { cpus: typeof os.cpus }).cpus = () =>
    Array.from({ length: wanted }, (_, i) => cpus[i % cpus.length] as (typeof cpus)[number]);
  try {
    return await init();
  } finally {
    (os as { cpus: typeof os.cpus }).cpus = realCpus;
  }
}

function wasmBackendModule(): WasmThreadsModule {
  if (tf.getBackend() !== 'wasm') throw new Error('wasm threads: the active backend is not wasm');
  return (tf.backend() as unknown as { wasm: WasmThreadsModule }).wasm;
}

/** XNNPACK threads in use by the active wasm backend. */
export function wasmThreads(): number {
  return wasmBackendModule().tfjs.getThreadsCount();
}

/** Thread count the backend was started with (the most `setWasmThreads` can ask for). */
let startedThreads = 1;
/** Spare pthread workers still loading the wasm module (see `reserveWorkers`). */
let loadingSpares: Promise<void> = Promise.resolve();

/**
 * Emscripten hands each new pthread the worker on top of `PThread.unusedWorkers`. A worker that
 * has not loaded the wasm module yet only starts once the main thread returns to the event loop,
 * but XNNPACK's pthreadpool_create blocks the main thread until its threads run: with no loaded
 * spare, creating a pool deadlocks at 0% CPU (the build preallocates 8 workers, and every pool
 * of n threads takes n - 1 of them for good). So: count the loaded spares on top.
 */
function loadedSparesOnTop(pt: PThreadRuntime): number {
  let k = 0;
  for (let i = pt.unusedWorkers.length - 1; i >= 0 && pt.unusedWorkers[i].loaded; i--) k++;
  return k;
}

/**
 * Starts loading spare pthread workers (in the background) until `need` are unused: every unused
 * worker is loaded or loading, so once they have loaded (`wasmThreadsReady()`), `need` loaded
 * spares are on top.
 */
function reserveWorkers(pt: PThreadRuntime, need: number): void {
  const loads: Promise<void>[] = [];
  while (pt.unusedWorkers.length < need) {
    pt.allocateUnusedWorker();
    const w = pt.unusedWorkers[pt.unusedWorkers.length - 1];
    loads.push(new Promise<void>((resolve) => pt.loadWasmModuleToWorker(w, resolve)));
  }
  if (loads.length) loadingSpares = Promise.all([loadingSpares, ...loads]).then(() => undefined);
}

/**
 * Resolves once the spare pthread workers the next `setWasmThreads` needs have loaded. Each
 * change to more than one thread takes fresh workers (tfjs never destroys the old pool), and
 * `setWasmThreads` starts loading replacements for them at once; code that re-sizes the pool
 * without returning to the event loop in between must await this first (or use
 * `resizeWasmThreads`).
 */
export async function wasmThreadsReady(): Promise<void> {
  let before: Promise<void>;
  do {
    before = loadingSpares;
    await before;
  } while (before !== loadingSpares);
}

/**
 * Changes XNNPACK's thread count at run time (for same-process comparisons), up to the count the
 * backend was started with. Each change to more than one thread creates a new pool; the old pool's
 * threads stay parked (tfjs exposes no destroy), and the change loads replacement workers in the
 * background. Throws, instead of deadlocking, where those have not loaded yet: await
 * `wasmThreadsReady()` before, or use `resizeWasmThreads`.
 */
export function setWasmThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`wasm threads: threads must be an integer >= 1, got ${n}`);
  }
  const m = wasmBackendModule();
  const pt = m.PThread;
  if (n > 1 && threadedReady && pt) {
    if (n > startedThreads) {
      throw new Error(
        `wasm threads: asked for ${n}, XNNPACK has ${startedThreads} at most (the backend was started with fewer threads; pass initEngine({ threads }) first)`,
      );
    }
    if (loadedSparesOnTop(pt) < n - 1) {
      reserveWorkers(pt, n - 1);
      throw new Error(
        `wasm threads: a pool of ${n} threads needs ${n - 1} loaded pthread workers and ${loadedSparesOnTop(pt)} are ready (each re-size takes fresh ones): await wasmThreadsReady() before setWasmThreads, or use resizeWasmThreads`,
      );
    }
  }
  m.tfjs.initWithThreadsCount(n);
  const got = m.tfjs.getThreadsCount();
  if (pt && threadedReady) reserveWorkers(pt, startedThreads - 1);
  if (got !== n) {
    throw new Error(
      `wasm threads: asked for ${n}, XNNPACK has ${got} (the backend was started with fewer threads; pass initEngine({ threads }) first)`,
    );
  }
}

/** `setWasmThreads(n)` once the pthread workers it needs have loaded. */
export async function resizeWasmThreads(n: number): Promise<void> {
  await wasmThreadsReady();
  setWasmThreads(n);
}

/** Logical cores of this machine. */
export function coreCount(): number {
  return (require('node:os') as typeof import('node:os')).cpus().length;
}

let threadedReady = false;

/** Whether this process's wasm backend runs tfjs's threaded SIMD build. */
export function threadedWasmActive(): boolean {
  return threadedReady;
}

/**
 * Starts (or re-sizes) the wasm backend with `threads` XNNPACK threads. More threads than cores
 * warns; where the threaded build cannot start, warns with the reason and uses 1 thread.
 */
export async function startThreadedWasm(threads: number): Promise<void> {
  const cores = coreCount();
  if (threads > cores) {
    console.warn(`frugal: warning: ${threads} threads on ${cores} cores: threads will share cores`);
  }
  const existing = tf.findBackend('wasm');
  if (existing !== null && existing !== undefined) {
    await tf.setBackend('wasm');
    if (!threadedReady) {
      throw new Error(
        'wasm threads: the wasm backend already started single-threaded in this process; pass threads to the first initEngine call',
      );
    }
    if (wasmThreads() !== threads) await resizeWasmThreads(threads);
    return;
  }
  const reason = threadedWasmUnavailableReason();
  const wasm = await loadWasmBackend();
  if (reason !== null) {
    console.warn(`frugal: warning: threaded wasm cannot start (${reason}); using 1 thread`);
    if (!(await tf.setBackend('wasm'))) throw new Error("Backend 'wasm' failed to initialise");
    await tf.ready();
    return;
  }
  wasm.setThreadsCount(threads);
  const ok = await withThreadedWasm(threads, async () => {
    const started = await tf.setBackend('wasm');
    await tf.ready();
    return started;
  });
  if (!ok) throw new Error(`Backend 'wasm' failed to initialise with ${threads} threads`);
  threadedReady = true;
  startedThreads = threads;
  const pt = wasmBackendModule().PThread;
  if (pt) reserveWorkers(pt, threads - 1);
  await wasmThreadsReady();
  const got = wasmThreads();
  if (got !== threads)
    throw new Error(`wasm threads: asked for ${threads}, XNNPACK started ${got}`);
}

setThreadedWasmStarter(startThreadedWasm);
