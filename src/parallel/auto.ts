// Threads or workers? A quick measurement on the real model and batch: the training step with
// `cores` XNNPACK threads on this thread against data parallelism over `cores` single-thread
// workers, interleaved, medians. The model's weights are restored afterwards and the workers'
// copies thrown away, so the measurement does not change what training then does.
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/dataset.js';
import { median } from '../report/median.js';
import type { LossName } from '../train/loss.js';
import { makeOptimizer, type OptimizerName } from '../train/optimizer.js';
import { MAX_WORKERS, ParallelTrainer } from '../train/parallel/index.js';
import { trainStep } from '../train/step.js';
import { coreCount, resizeWasmThreads, threadedWasmActive, wasmThreads } from './threaded-wasm.js';

export interface AutoParallelOptions {
  optimizer: { name: OptimizerName; learningRate: number };
  loss?: LossName;
  /** Parallelism to compare (default: this machine's cores, workers capped at MAX_WORKERS). */
  cores?: number;
  /** Timed steps per variant and round (default 2). */
  steps?: number;
  /** Interleaved rounds (default 2). */
  rounds?: number;
}

export interface AutoParallelChoice {
  mode: 'threads' | 'workers';
  /** XNNPACK threads on this thread (mode 'threads'), or 1. */
  threads: number;
  /** Data-parallel workers (mode 'workers'), or 1. */
  workers: number;
  /** Median ms per step of each variant. */
  threadsMs: number;
  workersMs: number;
  /** Why: one line for the CLI. */
  line: string;
}

/**
 * Times `batch`'s training step both ways and returns the faster. Needs the wasm backend started
 * threaded with at least `cores` threads (initEngine({ threads })); leaves it at the chosen count
 * (1 when workers win: this thread then only evaluates).
 */
export async function chooseParallelism(
  model: tf.LayersModel,
  batch: Batch,
  o: AutoParallelOptions,
): Promise<AutoParallelChoice> {
  if (tf.getBackend() !== 'wasm' || !threadedWasmActive())
    throw new Error(
      'chooseParallelism: needs the threaded wasm backend (initEngine({ backend: "wasm", threads }))',
    );
  const cores = o.cores ?? coreCount();
  if (!Number.isInteger(cores) || cores < 2)
    throw new Error(`chooseParallelism: needs at least 2 cores to compare, got ${cores}`);
  const steps = o.steps ?? 2;
  const rounds = o.rounds ?? 2;
  const workers = Math.min(cores, MAX_WORKERS);
  const saved = model.getWeights().map((w) => w.clone());
  const optimizer = makeOptimizer(o.optimizer.name, o.optimizer.learningRate);
  const trainer = await ParallelTrainer.create(model, {
    workers,
    optimizer: o.optimizer,
    loss: o.loss,
  });
  const threadsMs: number[] = [];
  const workersMs: number[] = [];
  try {
    const threaded = () => trainStep({ model, optimizer, loss: o.loss }, batch);
    await resizeWasmThreads(cores);
    threaded();
    await trainer.step(batch);
    for (let r = 0; r < rounds; r++) {
      await resizeWasmThreads(cores);
      let t = performance.now();
      for (let i = 0; i < steps; i++) threaded();
      threadsMs.push((performance.now() - t) / steps);
      await resizeWasmThreads(1);
      t = performance.now();
      for (let i = 0; i < steps; i++) await trainer.step(batch);
      workersMs.push((performance.now() - t) / steps);
    }
  } finally {
    await trainer.close();
    optimizer.dispose();
    model.setWeights(saved);
    tf.dispose(saved);
  }
  const tm = median(threadsMs);
  const wm = median(workersMs);
  const mode = tm <= wm ? 'threads' : 'workers';
  if (wasmThreads() !== (mode === 'threads' ? cores : 1))
    await resizeWasmThreads(mode === 'threads' ? cores : 1);
  const line = `--parallel auto: ${cores} threads ${tm.toFixed(0)} ms/step, ${workers} workers ${wm.toFixed(0)} ms/step (medians of ${rounds} rounds x ${steps} steps): training with ${mode === 'threads' ? `${cores} threads` : `${workers} workers`}`;
  return {
    mode,
    threads: mode === 'threads' ? cores : 1,
    workers: mode === 'workers' ? workers : 1,
    threadsMs: tm,
    workersMs: wm,
    line,
  };
}
