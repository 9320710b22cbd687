// Data-parallel training across Node worker threads: each worker holds a replica of the model and
// optimizer, computes the gradient of its shard of every batch, and applies the summed gradient.
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../../data/dataset.js';
import { fastKernelsActive } from '../../engine/settings.js';
import { externalMemory } from '../../report/external-memory.js';
import type { Stepper } from '../loop.js';
import { type LossName, resolveLoss } from '../loss.js';
import { abortBarrier, barrierControl } from './barrier.js';
import { checkReplicable, modelArtifacts, setWeightValues } from './model-transfer.js';
import {
  type ExchangeLayout,
  type FromReplica,
  type OptimizerSpec,
  type ReplicaInit,
  type ReplicaStepTimings,
  slotLength,
  type ToReplica,
  trainableLength,
} from './protocol.js';
import { splitBatch } from './shards.js';
import { spawnWorker, workerEntry } from './spawn-worker.js';

export interface ParallelOptions {
  /** Worker threads (default `defaultWorkerCount()`). */
  workers?: number;
  optimizer: OptimizerSpec;
  /** tfjs backend of the workers (default: the main thread's). */
  backend?: string;
  /**
   * XNNPACK threads in each worker (wasm backend only): every worker starts tfjs's threaded SIMD
   * build with its own pool of this many threads. Default: the single-thread build.
   */
  threadsPerWorker?: number;
  /** Fast kernels in the workers (default: as in the main thread). */
  fastKernels?: boolean;
  /** What the model outputs (see LOSSES; default 'auto'). */
  loss?: LossName;
}

export const MAX_WORKERS = 4;

/** The machine's available parallelism, capped at MAX_WORKERS. */
export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(MAX_WORKERS, availableParallelism()));
}

interface Pending {
  resolve: (msg: FromReplica) => void;
  reject: (e: Error) => void;
}

/**
 * Trains `model` data-parallel on worker threads. Each worker computes the gradient of its share
 * of the batch; the optimizer is sharded: each worker sums the gradients of its own ranges of
 * every weight, updates them (holding optimizer state for them only) and publishes them in shared
 * memory, from which every worker reads all weights, so the replicas stay identical. The main
 * thread's model is updated from worker 0 by `sync()`. Idle workers do not keep Node alive;
 * `close()` stops them.
 */
export class ParallelTrainer implements Stepper {
  private readonly pending: Map<string, Pending>[];
  private inFlight = 0;
  private steps = 0;
  private requests = 0;
  private failure: Error | undefined;
  private timings: ReplicaStepTimings[] = [];
  private closed = false;
  private threads: number[] = [];

  private constructor(
    private readonly model: tf.LayersModel,
    private readonly workers: Worker[],
    private readonly control: Int32Array,
    private readonly exchangeBytes: number,
  ) {
    this.pending = workers.map(() => new Map());
    workers.forEach((w, i) => {
      w.on('message', (msg: FromReplica) => this.receive(i, msg));
      w.on('error', (e) => this.fail(new Error(`parallel worker ${i} failed: ${e.message}`)));
      w.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`parallel worker ${i} exited (code ${code})`));
      });
    });
  }

  /** Starts the workers, each with a copy of `model` (topology and weights), and waits until they are ready. */
  static async create(model: tf.LayersModel, options: ParallelOptions): Promise<ParallelTrainer> {
    const parties = options.workers ?? defaultWorkerCount();
    if (!Number.isInteger(parties) || parties < 1 || parties > 64)
      throw new Error(`ParallelTrainer: workers must be an integer in 1..64, got ${parties}`);
    checkReplicable('ParallelTrainer', model, options.optimizer);
    const backend = options.backend ?? tf.getBackend();
    const threads = options.threadsPerWorker;
    if (threads !== undefined) {
      if (!Number.isInteger(threads) || threads < 1)
        throw new Error(
          `ParallelTrainer: threadsPerWorker must be an integer >= 1, got ${threads}`,
        );
      if (backend !== 'wasm')
        throw new Error(
          `ParallelTrainer: threadsPerWorker applies to the wasm backend only (the workers' backend is '${backend}')`,
        );
    }
    const loss = resolveLoss(model, options.loss).name;
    const layout: ExchangeLayout = {
      trainable: model.trainableWeights.map((w) => w.shape as number[]),
      state: model.nonTrainableWeights.map((w) => w.shape as number[]),
    };
    const slotBytes = 2 * parties * slotLength(layout) * Float32Array.BYTES_PER_ELEMENT;
    const publishedBytes = trainableLength(layout) * Float32Array.BYTES_PER_ELEMENT;
    const exchangeBytes = slotBytes + publishedBytes;
    const exchange = new Float32Array(new SharedArrayBuffer(slotBytes));
    const published = new Float32Array(new SharedArrayBuffer(publishedBytes));
    const control = barrierControl();
    const artifacts = await modelArtifacts(model);
    const entry = workerEntry();
    const workers = Array.from({ length: parties }, (_, index) => {
      const init: ReplicaInit = {
        index,
        parties,
        backend,
        threads,
        fastKernels: options.fastKernels ?? fastKernelsActive(),
        artifacts,
        optimizer: options.optimizer,
        loss,
        layout,
        control,
        exchange,
        published,
      };
      return spawnWorker(entry, { workerData: init });
    });
    externalMemory.track(exchangeBytes);
    const trainer = new ParallelTrainer(model, workers, control, exchangeBytes);
    try {
      const ready = await Promise.all(workers.map((_, i) => trainer.expect(i, 'ready')));
      trainer.threads = ready.map((r) => (r.type === 'ready' ? r.threads : 1));
    } catch (e) {
      await trainer.close();
      throw e;
    }
    return trainer;
  }

  get workerCount(): number {
    return this.workers.length;
  }

  /** XNNPACK threads each worker's backend runs, as the workers reported when they started. */
  get workerThreads(): readonly number[] {
    return this.threads;
  }

  /**
   * One training step on `batch`: each worker takes a contiguous shard of rows. Returns the
   * batch's mean loss. Leaves no tensors behind in this thread.
   */
  async step(batch: Batch): Promise<number> {
    this.checkUsable();
    if (batch.xs.dtype !== 'float32')
      throw new Error(`ParallelTrainer: inputs must be float32, got ${batch.xs.dtype}`);
    const rows = batch.xs.shape[0];
    if (rows < 1 || batch.ys.shape[0] !== rows)
      throw new Error(
        `ParallelTrainer: batch has ${rows} input rows and ${batch.ys.shape[0]} label rows`,
      );
    const xs = batch.xs.dataSync() as Float32Array;
    const ys = batch.ys.dataSync() as Float32Array;
    const xRow = xs.length / rows;
    const yRow = ys.length / rows;
    const shards = splitBatch(rows, this.workers.length);
    const shardSizes = shards.map((s) => s.size);
    const step = ++this.steps;
    const losses = await Promise.all(
      shards.map((s, i) => {
        const xPart = xs.slice(s.start * xRow, (s.start + s.size) * xRow);
        const yPart = ys.slice(s.start * yRow, (s.start + s.size) * yRow);
        const msg: ToReplica = {
          type: 'step',
          step,
          xs: xPart,
          xsShape: [s.size, ...batch.xs.shape.slice(1)],
          ys: yPart,
          ysShape: [s.size, ...batch.ys.shape.slice(1)],
          shardSizes,
        };
        return this.request(i, `step:${step}`, msg, [xPart.buffer, yPart.buffer]);
      }),
    );
    let loss = 0;
    const timings: ReplicaStepTimings[] = [];
    for (const r of losses) {
      if (r.type !== 'stepped') throw new Error(`ParallelTrainer: unexpected reply ${r.type}`);
      loss += r.loss;
      timings.push(r.timings);
    }
    this.timings = timings;
    return loss;
  }

  /** Each worker's timings of the last step (empty before the first). */
  get lastStepTimings(): readonly ReplicaStepTimings[] {
    return this.timings;
  }

  /** Every weight of worker `index`'s replica, in `model.weights` order. */
  async replicaWeights(index: number): Promise<Float32Array[]> {
    this.checkUsable();
    if (!Number.isInteger(index) || index < 0 || index >= this.workers.length)
      throw new Error(`ParallelTrainer: no worker ${index} (have ${this.workers.length})`);
    const id = ++this.requests;
    const r = await this.request(index, `weights:${id}`, { type: 'weights', id });
    if (r.type !== 'weights') throw new Error(`ParallelTrainer: unexpected reply ${r.type}`);
    return r.values;
  }

  /** Copies the trained weights (worker 0's, identical on every worker) into the main thread's model. */
  async sync(): Promise<void> {
    setWeightValues(this.model, await this.replicaWeights(0));
  }

  /** Stops the workers. Idempotent; pending requests are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    abortBarrier(this.control);
    this.rejectAll(new Error('ParallelTrainer: closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
    externalMemory.release(this.exchangeBytes);
  }

  private checkUsable(): void {
    if (this.closed) throw new Error('ParallelTrainer: used after close()');
    if (this.failure) throw this.failure;
  }

  private expect(index: number, key: string): Promise<FromReplica> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.pending[index].set(key, { resolve, reject });
      if (this.inFlight++ === 0) for (const w of this.workers) w.ref();
    });
  }

  private request(
    index: number,
    key: string,
    msg: ToReplica,
    transfer: ArrayBuffer[] = [],
  ): Promise<FromReplica> {
    const reply = this.expect(index, key);
    this.workers[index].postMessage(msg, transfer);
    return reply;
  }

  private settle(index: number, key: string): Pending | undefined {
    const p = this.pending[index].get(key);
    if (!p) return undefined;
    this.pending[index].delete(key);
    if (--this.inFlight === 0) for (const w of this.workers) w.unref();
    return p;
  }

  private receive(index: number, msg: FromReplica): void {
    if (msg.type === 'error') {
      // A replica released by an abort says nothing new: the replica that failed reports the
      // cause (or its 'error'/'exit' event does), and close() rejects what is pending.
      if (!msg.aborted) this.fail(new Error(`parallel worker ${index}: ${msg.message}`));
      return;
    }
    const key =
      msg.type === 'ready'
        ? 'ready'
        : msg.type === 'stepped'
          ? `step:${msg.step}`
          : `weights:${msg.id}`;
    this.settle(index, key)?.resolve(msg);
  }

  private fail(e: Error): void {
    if (!this.failure) this.failure = e;
    abortBarrier(this.control);
    this.rejectAll(this.failure);
  }

  private rejectAll(e: Error): void {
    this.pending.forEach((map, i) => {
      for (const key of [...map.keys()]) this.settle(i, key)?.reject(e);
    });
  }
}
