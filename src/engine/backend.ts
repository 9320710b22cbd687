import * as tf from '@tensorflow/tfjs';
import { initWasmKernels } from '../wasm/module.js';
import { backendRegistered, defaultSeed, setDefaultSeed } from './settings.js';

/** Backends frugal is tested on. Any other registered tfjs backend also works with the library. */
export const KNOWN_BACKENDS = ['cpu', 'wasm'] as const;
export type BackendName = (typeof KNOWN_BACKENDS)[number];

export interface EngineOptions {
  /** tfjs backend to activate; default 'wasm' with a fallback to 'cpu' if wasm cannot start. */
  backend?: string;
  /** Directory or URL prefix holding the tfjs-backend-wasm `.wasm` files (browsers). Node finds them in node_modules. */
  wasmPaths?: string;
  /** Default seed for frugal's randomness (model initialisers, data splits, shuffling) when a config gives none. */
  seed?: number;
  /**
   * XNNPACK threads for the wasm backend (its threaded SIMD build, started in Node by frugal's
   * shim). Default: tfjs's single-thread SIMD build. More threads than cores warns.
   */
  threads?: number;
}

export interface EngineInfo {
  backend: string;
  seed: number;
}

type WasmModule = typeof import('@tensorflow/tfjs-backend-wasm');
let wasmModule: Promise<WasmModule> | undefined;

/**
 * Loads (once) and registers the tfjs wasm backend, and gives it frugal's fast kernels if they
 * are in effect. Importing frugal does not load it: importing '@tensorflow/tfjs-backend-wasm'
 * registers it as tfjs's highest-priority backend, so that a program's first tensor op would
 * throw "backend 'wasm' has not yet been initialized". `initEngine({backend: 'wasm'})` calls this.
 */
export async function loadWasmBackend(): Promise<WasmModule> {
  wasmModule ??= import('@tensorflow/tfjs-backend-wasm');
  const m = await wasmModule;
  backendRegistered();
  return m;
}

/**
 * The one place that selects the tfjs backend. Resolves once the backend is ready.
 * Throws a clear error for a backend name that is not registered.
 */
export async function initEngine(options: EngineOptions = {}): Promise<EngineInfo> {
  const requested = options.backend ?? 'wasm';
  const threads = checkThreads(options.threads, requested);
  if (requested === 'wasm') {
    const wasm = await loadWasmBackend();
    if (options.wasmPaths) wasm.setWasmPaths(options.wasmPaths);
  }
  wasmThreads = threads ?? 1;
  if (threads !== undefined) {
    await startThreadedWasm(threads);
    await startKernelModule();
    if (options.seed !== undefined) setDefaultSeed(options.seed);
    return { backend: tf.getBackend(), seed: defaultSeed() };
  }
  const registered = Object.keys(tf.engine().registryFactory);
  if (!registered.includes(requested)) {
    const known = [...new Set([...registered, 'wasm'])];
    throw new Error(
      `Unknown backend '${requested}': registered tfjs backends are ${known.join(', ')}`,
    );
  }
  const ok = await tf.setBackend(requested);
  if (!ok) {
    if (options.backend === undefined && requested === 'wasm') {
      await tf.setBackend('cpu');
    } else {
      throw new Error(`Backend '${requested}' failed to initialise`);
    }
  }
  await tf.ready();
  await startKernelModule();
  if (options.seed !== undefined) setDefaultSeed(options.seed);
  return { backend: tf.getBackend(), seed: defaultSeed() };
}

/**
 * Compiles frugal's wasm kernel module asynchronously: a browser's main thread refuses the
 * synchronous compile that its first use would otherwise do, and the packed layers and the wasm
 * activation codec would fall back to JS there. Where it cannot start, using it says why.
 */
async function startKernelModule(): Promise<void> {
  try {
    await initWasmKernels();
  } catch {
    // tryWasmKernels() / wasmKernels() report the reason when the kernels are asked for.
  }
}

/** XNNPACK threads the last `initEngine` started the wasm backend with (1: single-thread build). */
let wasmThreads = 1;

/**
 * Whether the active backend computes on the calling thread alone (cpu, single-thread wasm), so
 * the process's CPU time over a call is that call's compute time: on a machine other processes
 * load it is the steadier clock (being descheduled costs wall time, not CPU time).
 */
export function computesOnCallingThread(): boolean {
  const b = tf.getBackend();
  return b === 'cpu' || (b === 'wasm' && wasmThreads === 1);
}

/** Starts the wasm backend with `threads` XNNPACK threads; Node's is installed by 'frugal/node'. */
export type ThreadedWasmStarter = (threads: number) => Promise<void>;
let threadedStarter: ThreadedWasmStarter | undefined;

/** Installs the function `initEngine({ threads })` uses (src/parallel/threaded-wasm.ts in Node). */
export function setThreadedWasmStarter(starter: ThreadedWasmStarter): void {
  threadedStarter = starter;
}

function checkThreads(threads: number | undefined, backend: string): number | undefined {
  if (threads === undefined) return undefined;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`threads must be an integer >= 1, got ${threads}`);
  }
  if (backend !== 'wasm') {
    throw new Error(`threads applies to the wasm backend only (backend is '${backend}')`);
  }
  return threads;
}

async function startThreadedWasm(threads: number): Promise<void> {
  if (threadedStarter) return threadedStarter(threads);
  const inNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  if (inNode) {
    throw new Error(
      "initEngine({ threads }) in Node needs frugal's threaded-wasm shim: import 'frugal/node'",
    );
  }
  // Browsers: tfjs starts its threaded build itself where the page is cross-origin isolated.
  const wasm = await loadWasmBackend();
  wasm.setThreadsCount(threads);
  if (!(await tf.setBackend('wasm'))) throw new Error("Backend 'wasm' failed to initialise");
  await tf.ready();
}
