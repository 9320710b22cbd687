// Pipelined training (PipeDream-2BW, PipeDream-Flush, GPipe): the model's chain (remat/chain.ts)
// cut into contiguous stages, one StageRunner per stage, in worker threads or in this thread.
// Each batch is split into microbatches that flow through the stages on the schedule of
// schedule.ts; each stage accumulates its gradients over a batch and updates its own weights.
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/dataset.js';
import { fastKernelsActive } from '../engine/settings.js';
import { buildChain } from '../remat/chain.js';
import { profileChain } from '../remat/profile.js';
import type { Stepper } from '../train/loop.js';
import { type LossName, resolveLoss } from '../train/loss.js';
import {
  checkReplicable,
  modelArtifacts,
  setWeightValues,
} from '../train/parallel/model-transfer.js';
import type { OptimizerSpec } from '../train/parallel/protocol.js';
import { splitBatch } from '../train/parallel/shards.js';
import { costsFromProfile, type LayerCost, planPipeline } from './planner.js';
import type { Rows, StageInit, StageRunStats } from './protocol.js';
import { min2bwMicrobatches, PIPELINE_MODES, type PipelineMode } from './schedule.js';
import { inProcessStage, type StageHost, stageLinks, workerStage } from './stage-host.js';

export interface PipelineOptions {
  /** Pipeline stages (default 2). */
  stages?: number;
  /** Microbatches per batch (default: the number of stages). */
  microbatches?: number;
  /** Default '2bw'. */
  schedule?: PipelineMode;
  optimizer: OptimizerSpec;
  /** What the model outputs (see LOSSES; default 'auto'). */
  loss?: LossName;
  /** tfjs backend of the stages (default: this thread's). */
  backend?: string;
  /** Fast kernels in the stage workers (default: as in this thread). */
  fastKernels?: boolean;
  /**
   * Where pipeline stages 1, 2, ... start, as indices into the model's chain (`buildChain`):
   * `stages - 1` increasing indices in 1..chain length - 1. Default: planned (see `sample`).
   */
  cuts?: number[];
  /**
   * A batch to plan the cut on: its first microbatch is profiled per chain stage (time and
   * memory, the rematerialization profiler; median of 3 timings) and `planPipeline` balances the slowest stage.
   * Without it (and without `cuts`) the plan balances the stages' weight bytes.
   */
  sample?: Batch;
  /** Bytes one stage may hold (the planner's budget; default unlimited). */
  memoryBudgetBytes?: number;
  /** 'workers' (default): one worker thread per stage; 'in-process': every stage in this thread. */
  runner?: 'workers' | 'in-process';
}

/** What a run of the pipeline did, per stage. */
export interface PipelineRunReport {
  stages: StageRunStats[];
  /** Wall-clock ms of the run (from sending the microbatches to the last stage's reply). */
  ms: number;
}

function rowsOf(t: tf.Tensor, start: number, size: number): Rows {
  const all = t.dataSync() as Float32Array;
  const row = all.length / t.shape[0];
  return {
    values: all.slice(start * row, (start + size) * row),
    shape: [size, ...t.shape.slice(1)],
  };
}

/** Timed repetitions of each layer when the plan profiles a sample. */
const PLAN_REPEATS = 3;

/** Checks explicit cut points against a chain of `n` stages. */
function checkCuts(cuts: number[], stages: number, n: number, names: string[]): void {
  if (cuts.length !== stages - 1)
    throw new Error(
      `PipelineTrainer: ${stages} stages need ${stages - 1} cut${stages === 2 ? '' : 's'}, got ${cuts.length} (${JSON.stringify(cuts)})`,
    );
  let prev = 0;
  for (const c of cuts) {
    if (!Number.isInteger(c) || c <= prev || c >= n)
      throw new Error(
        `PipelineTrainer: cuts must be increasing integers in 1..${n - 1} (the model's chain is ${names.join(', ')}), got ${JSON.stringify(cuts)}`,
      );
    prev = c;
  }
}

/** The chain-stage ranges [start, end) of each pipeline stage. */
function planRanges(model: tf.LayersModel, options: PipelineOptions, stages: number, m: number) {
  const chain = buildChain(model);
  const n = chain.stages.length;
  const names = chain.stages.map((s) => s.name);
  if (stages > n)
    throw new Error(
      `PipelineTrainer: cannot cut ${n} layer${n === 1 ? '' : 's'} (${names.join(', ')}) into ${stages} pipeline stages: more stages than layers`,
    );
  let cuts = options.cuts;
  if (cuts) checkCuts(cuts, stages, n, names);
  else {
    let costs: LayerCost[];
    if (options.sample) {
      const size = splitBatch(options.sample.xs.shape[0], m)[0].size;
      const xs = options.sample.xs.slice(0, size);
      const ys = options.sample.ys.slice(0, size);
      try {
        // Median of 3 timings after the warm-up: with 1, the first calls' one-off costs (kernel
        // set-up, allocation) can land on one layer and move the cut (seen on the Transformer).
        costs = costsFromProfile(chain, profileChain(chain, { xs, ys }, { repeats: PLAN_REPEATS }));
      } finally {
        tf.dispose([xs, ys]);
      }
    } else
      costs = chain.stages.map((s) => ({
        name: s.name,
        timeMs: s.weightBytes,
        weightBytes: s.weightBytes,
        activationBytes: 0,
        outputBytes: 0,
      }));
    const plan = planPipeline(costs, {
      stages,
      microbatches: m,
      mode: options.schedule,
      memoryBudgetBytes: options.memoryBudgetBytes,
      optimizerSlots:
        options.optimizer.name === 'adam' ? 2 : options.optimizer.name === 'sgd' ? 0 : 1,
    });
    cuts = plan.stages.slice(1).map((s) => s.start);
  }
  const bounds = [0, ...cuts, n];
  return {
    names,
    ranges: Array.from({ length: stages }, (_, i) => ({ start: bounds[i], end: bounds[i + 1] })),
  };
}

/**
 * Trains `model` on a pipeline of stages (see the module comment). Every batch is one step of the
 * schedule: its microbatches' gradients are summed (each microbatch's loss weighted by its share
 * of the batch's rows, so the sum is the gradient of the batch-mean loss) and each stage applies
 * the sum to its latest weights. '2bw': batch b runs on the weights after update b - 1 (two
 * versions per stage, the gradient one step stale); 'flush' and 'gpipe': on the latest weights
 * (plain training). `step` runs one batch (the pipeline drains after it); `runBatches` streams
 * several, which is where 2BW's overlap across batches pays. `sync` copies the weights back into
 * `model`. No tensors stay behind in this thread; `close` stops the stages.
 */
export class PipelineTrainer implements Stepper {
  private batches = 0;
  private runs = 0;
  private failure: Error | undefined;
  private closed = false;
  private report: PipelineRunReport | undefined;

  private constructor(
    private readonly model: tf.LayersModel,
    private readonly hosts: StageHost[],
    readonly mode: PipelineMode,
    readonly microbatches: number,
    /** Chain-stage ranges [start, end) of each pipeline stage. */
    readonly ranges: { start: number; end: number }[],
  ) {}

  static async create(model: tf.LayersModel, options: PipelineOptions): Promise<PipelineTrainer> {
    const stages = options.stages ?? 2;
    if (!Number.isInteger(stages) || stages < 1 || stages > 16)
      throw new Error(`PipelineTrainer: stages must be an integer in 1..16, got ${stages}`);
    const m = options.microbatches ?? stages;
    if (!Number.isInteger(m) || m < 1)
      throw new Error(`PipelineTrainer: microbatches must be a positive integer, got ${m}`);
    const mode = options.schedule ?? '2bw';
    if (!(PIPELINE_MODES as readonly string[]).includes(mode))
      throw new Error(
        `PipelineTrainer: schedule must be one of ${PIPELINE_MODES.join(', ')}, got ${JSON.stringify(mode)}`,
      );
    if (mode === '2bw' && m < min2bwMicrobatches(stages))
      throw new Error(
        `PipelineTrainer: PipeDream-2BW with ${stages} stages needs at least ${min2bwMicrobatches(stages)} microbatches per batch, got ${m}`,
      );
    const runner = options.runner ?? 'workers';
    if (runner !== 'workers' && runner !== 'in-process')
      throw new Error(
        `PipelineTrainer: runner must be 'workers' or 'in-process', got ${JSON.stringify(runner)}`,
      );
    checkReplicable('PipelineTrainer', model, options.optimizer);
    const { name, learningRate } = options.optimizer;
    const loss = resolveLoss(model, options.loss).name;
    const { names, ranges } = planRanges(model, { ...options, schedule: mode }, stages, m);
    const artifacts = await modelArtifacts(model);
    const backend = options.backend ?? tf.getBackend();
    const links = stageLinks(stages);
    const hosts: StageHost[] = [];
    let trainer: PipelineTrainer | undefined;
    const onFailure = (e: Error) => trainer?.fail(e);
    try {
      const inits: StageInit[] = ranges.map((r, index) => ({
        index,
        stages,
        mode,
        start: r.start,
        end: r.end,
        chainNames: names,
        backend,
        fastKernels: options.fastKernels ?? fastKernelsActive(),
        artifacts,
        optimizer: { name, learningRate },
        loss,
        ...links[index],
      }));
      if (runner === 'in-process') for (const init of inits) hosts.push(await inProcessStage(init));
      else {
        const started = await Promise.allSettled(inits.map((init) => workerStage(init, onFailure)));
        for (const s of started) if (s.status === 'fulfilled') hosts.push(s.value);
        const bad = started.find((s) => s.status === 'rejected');
        if (bad) throw (bad as PromiseRejectedResult).reason;
      }
    } catch (e) {
      await Promise.all(hosts.map((h) => h.close()));
      for (const l of links) {
        l.prev?.close();
        l.next?.close();
      }
      throw e;
    }
    trainer = new PipelineTrainer(model, hosts, mode, m, ranges);
    return trainer;
  }

  get stageCount(): number {
    return this.hosts.length;
  }

  /** Per-stage statistics of the last run (undefined before the first). */
  get lastRun(): PipelineRunReport | undefined {
    return this.report;
  }

  /** One batch through the pipeline; resolves to its mean loss. */
  async step(batch: Batch): Promise<number> {
    return (await this.runBatches([batch]))[0];
  }

  /**
   * Streams `batches` through the pipeline in one run of the schedule (2BW: no drain between
   * them); resolves to each batch's mean loss.
   */
  async runBatches(batches: Batch[]): Promise<number[]> {
    this.checkUsable();
    if (batches.length === 0) return [];
    const m = this.microbatches;
    const inputs: Rows[] = [];
    const targets: Rows[] = [];
    const batchRows: number[] = [];
    for (const [j, b] of batches.entries()) {
      if (b.xs.dtype !== 'float32')
        throw new Error(`PipelineTrainer: inputs must be float32, got ${b.xs.dtype}`);
      const rows = b.xs.shape[0];
      if (b.ys.shape[0] !== rows)
        throw new Error(
          `PipelineTrainer: batch ${j} has ${rows} input rows and ${b.ys.shape[0]} label rows`,
        );
      if (rows < m)
        throw new Error(
          `PipelineTrainer: batch ${j} has ${rows} rows, fewer than the ${m} microbatches it is split into`,
        );
      batchRows.push(rows);
      // Uneven splits are fine: each microbatch's loss is weighted by its rows.
      for (const s of splitBatch(rows, m)) {
        inputs.push(rowsOf(b.xs, s.start, s.size));
        targets.push(rowsOf(b.ys, s.start, s.size));
      }
    }
    const id = ++this.runs;
    const firstBatch = this.batches;
    this.batches += batches.length;
    const last = this.hosts.length - 1;
    const t0 = performance.now();
    const results = await Promise.all(
      this.hosts.map((h, i) =>
        h.run({
          type: 'run',
          id,
          firstBatch,
          batches: batches.length,
          microbatches: m,
          batchRows,
          inputs: i === 0 ? inputs : undefined,
          targets: i === last ? targets : undefined,
        }),
      ),
    ).catch((e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      this.fail(err);
      throw this.failure ?? err;
    });
    this.report = { stages: results.map((r) => r.stats), ms: performance.now() - t0 };
    return results[last].losses;
  }

  /** Every weight of the model as the stages hold it now, in `model.weights` order. */
  async weights(): Promise<Float32Array[]> {
    this.checkUsable();
    const out = new Array<Float32Array | undefined>(this.model.weights.length);
    for (const h of this.hosts) {
      const { indices, values } = await h.weights();
      indices.forEach((k, j) => {
        out[k] = values[j];
      });
    }
    return out.map((v, k) => {
      if (!v)
        throw new Error(`PipelineTrainer: no stage holds weight ${this.model.weights[k].name}`);
      return v;
    });
  }

  /** Copies the stages' weights into this thread's model. */
  async sync(): Promise<void> {
    setWeightValues(this.model, await this.weights());
  }

  /** Stops the stages. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.hosts.map((h) => h.close()));
  }

  private checkUsable(): void {
    if (this.closed) throw new Error('PipelineTrainer: used after close()');
    if (this.failure) throw this.failure;
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const h of this.hosts) h.fail(e);
  }
}
