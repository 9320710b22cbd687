// `frugal train --threads N` and `--parallel auto`: parsing, validation and the run's parallel
// layout (XNNPACK threads on this thread or inside each data-parallel worker, or workers).
import type * as tf from '@tensorflow/tfjs';
import { batches, type ClassificationData } from '../../data/dataset.js';
import { chooseParallelism } from '../../parallel/auto.js';
import { coreCount, threadedWasmActive, wasmThreads } from '../../parallel/threaded-wasm.js';
import type { OptimizerName } from '../../train/optimizer.js';

export const PARALLEL_MODES = ['auto'] as const;
export type ParallelMode = (typeof PARALLEL_MODES)[number];

export interface ThreadCliOptions {
  backend: string;
  /** XNNPACK threads (wasm): on this thread, or in each worker with --workers. */
  threads?: number;
  /** 'auto': threads or workers, whichever a quick measurement finds faster. */
  parallel?: ParallelMode;
  workers?: number;
}

/** What the options ask for, checked before any work. */
export interface ThreadPlan {
  /** Threads this thread's wasm backend starts with (undefined: the single-thread build). */
  mainThreads?: number;
  workers: number;
  threadsPerWorker?: number;
  auto: boolean;
}

/**
 * Validates --threads and --parallel. `plainForward`: the run uses the model's plain forward (no
 * --act-* options, no --memory-budget), which data-parallel workers need.
 */
export function checkThreadOptions(
  o: ThreadCliOptions,
  plainForward: boolean,
  cores = coreCount(),
): ThreadPlan {
  const workers = o.workers ?? 1;
  const { threads } = o;
  if (o.parallel === 'auto') {
    if (threads !== undefined || workers > 1)
      throw new Error(
        `--parallel auto chooses between threads and workers itself: drop ${threads !== undefined ? '--threads' : '--workers'}`,
      );
    if (o.backend !== 'wasm')
      throw new Error(
        `--parallel auto compares XNNPACK threads with workers, and threads need the wasm backend (backend is '${o.backend}'): use --backend wasm, or --workers N`,
      );
    if (!plainForward)
      throw new Error(
        '--parallel auto cannot be combined with --act-* options or --memory-budget: the workers it would compare run the plain forward; use --threads N with them',
      );
    if (cores < 2) {
      console.warn(
        'frugal: warning: --parallel auto on a 1-core machine: nothing to parallelise, training on one thread',
      );
      return { workers: 1, auto: false };
    }
    return { mainThreads: cores, workers: 1, auto: true };
  }
  if (threads === undefined) return { workers, auto: false };
  if (o.backend !== 'wasm')
    throw new Error(
      `--threads applies to the wasm backend only (XNNPACK's thread pool); backend is '${o.backend}': use --backend wasm or drop --threads`,
    );
  if (threads === 1)
    throw new Error(
      "--threads 1 changes nothing (training already uses tfjs's single-thread wasm build): drop it, or give 2 or more",
    );
  if (workers > 1) {
    if (workers * threads > cores)
      console.warn(
        `frugal: warning: ${workers} workers x ${threads} threads = ${workers * threads} threads on ${cores} cores: threads will share cores`,
      );
    return { workers, threadsPerWorker: threads, auto: false };
  }
  // More threads than cores: the engine warns when it starts the pool.
  return { mainThreads: threads, workers: 1, auto: false };
}

/** The run's parallel layout, as the report records it. */
export interface ThreadReport {
  /** XNNPACK threads of this thread's backend (1: the single-thread build, or the fallback). */
  threads: number;
  workers: number;
  threadsPerWorker?: number;
  /** The measurement behind --parallel auto. */
  auto?: { mode: 'threads' | 'workers'; threadsMs: number; workersMs: number };
}

/**
 * Settles the layout after the engine started: runs the --parallel auto measurement on the first
 * training batch (the model's weights are restored afterwards) and says where the threaded build
 * could not start.
 */
export async function resolveThreads(
  plan: ThreadPlan,
  model: tf.LayersModel,
  data: ClassificationData,
  o: { batch: number; optimizer: OptimizerName; lr: number },
): Promise<ThreadReport> {
  const threaded = threadedWasmActive();
  const mainThreads = threaded ? wasmThreads() : 1;
  if (plan.mainThreads !== undefined && !threaded) {
    // initEngine warned with the reason; the run goes on single-threaded (or as workers).
    console.log(
      `threads: the threaded wasm build could not start, training on 1 thread${plan.auto ? ' (--parallel auto: no threads to compare)' : ''}`,
    );
    return { threads: 1, workers: 1 };
  }
  if (!plan.auto)
    return {
      threads: mainThreads,
      workers: plan.workers,
      ...(plan.threadsPerWorker !== undefined ? { threadsPerWorker: plan.threadsPerWorker } : {}),
    };
  const sample = batches(data, 'train', o.batch).next().value;
  if (!sample) throw new Error('--parallel auto: no training batch to measure with');
  try {
    const choice = await chooseParallelism(model, sample, {
      optimizer: { name: o.optimizer, learningRate: o.lr },
    });
    console.log(choice.line);
    return {
      threads: choice.threads,
      workers: choice.workers,
      auto: { mode: choice.mode, threadsMs: choice.threadsMs, workersMs: choice.workersMs },
    };
  } finally {
    sample.xs.dispose();
    sample.ys.dispose();
  }
}

export const THREADS_HELP =
  "XNNPACK threads of the wasm backend (tfjs's threaded SIMD build): on this thread, or in each worker with --workers";
export const PARALLEL_HELP =
  'auto: time a few steps with one thread per core against one worker per core, and train with the faster';
