// The worker side of a pipeline: one contiguous range of a model's chain stages, its weight
// versions (2BW: two; Flush/GPipe: one), the optimizer of its weights, and the loop that runs its
// schedule (schedule.ts), exchanging activations and gradients with its neighbours.
import type { MessagePort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend.js';
import { recordTape, type StageTape } from '../engine/tape.js';
import { useFastKernels, useStockKernels } from '../kernels/index.js';
import { buildChain, type Stage } from '../remat/chain.js';
import { type Loss, lossByName } from '../train/loss.js';
import { makeOptimizer } from '../train/optimizer.js';
import type { Hop, Rows, StageInit, StageRunStats, ToStage } from './protocol.js';
import { type PipeOp, stageSchedule } from './schedule.js';

export type RunMessage = Extract<ToStage, { type: 'run' }>;

/** Numbers the runners of this thread, so their weight variables get distinct names. */
let nextRunnerId = 0;

interface InFlight {
  input: tf.Tensor;
  tape: StageTape;
  version: number;
  /** Last stage: the gradient of the scaled loss with respect to the output. */
  dy?: tf.Tensor;
}

/** Receives hops from a neighbour, in any order; `take` waits for a given one. */
class Inbox {
  private readonly arrived = new Map<string, Rows>();
  private readonly waiting = new Map<string, (r: Rows) => void>();

  constructor(port: MessagePort | undefined) {
    port?.on('message', (h: Hop) => {
      const key = `${h.kind}:${h.mb}`;
      const w = this.waiting.get(key);
      if (w) {
        this.waiting.delete(key);
        w(h.rows);
      } else this.arrived.set(key, h.rows);
    });
  }

  take(kind: Hop['kind'], mb: number): Promise<Rows> {
    const key = `${kind}:${mb}`;
    const r = this.arrived.get(key);
    if (r) {
      this.arrived.delete(key);
      return Promise.resolve(r);
    }
    return new Promise((resolve) => this.waiting.set(key, resolve));
  }
}

function toRows(t: tf.Tensor): Rows {
  return { values: (t.dataSync() as Float32Array).slice(), shape: [...t.shape] };
}

function sendRows(port: MessagePort, kind: Hop['kind'], mb: number, t: tf.Tensor): void {
  const rows = toRows(t);
  port.postMessage({ kind, mb, rows } satisfies Hop, [rows.values.buffer as ArrayBuffer]);
}

export class StageRunner {
  private readonly versions = new Map<number, tf.Tensor[]>();
  private latest = 0;
  private readonly inFlight = new Map<number, InFlight>();
  private accum: tf.Tensor[] | null = null;
  private readonly fromPrev: Inbox;
  private readonly fromNext: Inbox;
  private readonly loss: Loss;
  private stats!: StageRunStats;

  private constructor(
    private readonly init: StageInit,
    private readonly stages: Stage[],
    /** The variables the stages' layers read (each once). */
    private readonly vars: tf.Variable[],
    /** The latest weights, which the optimizer updates. */
    private readonly master: tf.Variable[],
    private readonly optimizer: tf.Optimizer,
    private readonly model: tf.LayersModel,
    /** Non-trainable weights of the stages' layers and their indices in `model.weights`. */
    private readonly state: { index: number; weight: tf.LayerVariable }[],
    /** Indices of `vars` in `model.weights`. */
    private readonly weightIndices: number[],
  ) {
    this.fromPrev = new Inbox(init.prev);
    this.fromNext = new Inbox(init.next);
    this.loss = lossByName(init.loss);
    this.versions.set(
      0,
      master.map((v) => tf.keep(v.clone())),
    );
  }

  /**
   * Loads the model from `init.artifacts` and takes its chain stages [start, end). `inProcess`:
   * the runner shares this thread's engine (tests, a single-thread run), which must already run
   * `init.backend`; the kernel setting is left as it is.
   */
  static async create(init: StageInit, inProcess = false): Promise<StageRunner> {
    if (!inProcess) {
      await initEngine({ backend: init.backend });
      if (init.fastKernels) useFastKernels();
      else useStockKernels();
    } else if (tf.getBackend() !== init.backend)
      throw new Error(
        `stage ${init.index}: an in-process stage needs the '${init.backend}' backend, this thread runs '${tf.getBackend()}'`,
      );
    const model = await tf.loadLayersModel(tf.io.fromMemory(init.artifacts));
    const chain = buildChain(model);
    const names = chain.stages.map((s) => s.name);
    if (JSON.stringify(names) !== JSON.stringify(init.chainNames))
      throw new Error(
        `stage ${init.index}: the worker's chain (${names.join(', ')}) differs from the planned one`,
      );
    const stages = chain.stages.slice(init.start, init.end);
    const byId = new Map(model.trainableWeights.map((w, i) => [w.read().id, i]));
    const weightIndex = new Map(model.weights.map((w, i) => [w.read().id, i]));
    const vars: tf.Variable[] = [];
    const indices: number[] = [];
    for (const s of stages)
      for (const v of s.variables) {
        const i = byId.get(v.id);
        if (i === undefined)
          throw new Error(`stage ${init.index}: variable ${v.name} not trainable`);
        if (!indices.includes(i)) {
          vars.push(v);
          indices.push(i);
        }
      }
    const state: { index: number; weight: tf.LayerVariable }[] = [];
    for (const s of stages)
      for (const w of s.stateWeights) {
        const i = weightIndex.get(w.read().id);
        if (i !== undefined && !state.some((e) => e.index === i))
          state.push({ index: i, weight: w });
      }
    const weightIndices = vars.map((v) => weightIndex.get(v.id) ?? -1);
    const tag = `pipe${nextRunnerId++}`;
    const master = vars.map((v, j) => {
      const c = v.clone();
      const mv = tf.variable(c, true, `${tag}/${j}`);
      c.dispose();
      return mv;
    });
    const optimizer = makeOptimizer(init.optimizer.name, init.optimizer.learningRate);
    return new StageRunner(init, stages, vars, master, optimizer, model, state, weightIndices);
  }

  private get isFirst(): boolean {
    return this.init.index === 0;
  }

  private get isLast(): boolean {
    return this.init.index === this.init.stages - 1;
  }

  /** Points the layers' variables at version `v`'s buffers (no copy). */
  private useVersion(v: number): void {
    const w = this.versions.get(v);
    if (!w) throw new Error(`stage ${this.init.index}: weight version ${v} is not held`);
    this.vars.forEach((x, j) => {
      x.assign(w[j]);
    });
  }

  async run(msg: RunMessage): Promise<{ losses: number[]; stats: StageRunStats }> {
    const { index, stages, mode } = this.init;
    const m = msg.microbatches;
    const ops = stageSchedule(mode, index, stages, m, msg.batches, msg.firstBatch);
    this.stats = {
      maxVersions: this.versions.size,
      maxInFlight: 0,
      versionLog: [],
      fwdMs: 0,
      bwdMs: 0,
      updateMs: 0,
      numTensors: 0,
    };
    const losses = new Array<number>(msg.batches).fill(0);
    const first = msg.firstBatch * m;
    const fwdVersion = new Map<number, number>();
    for (const op of ops) {
      const t0 = performance.now();
      if (op.kind === 'F') {
        const input = this.isFirst
          ? msg.inputs?.[op.mb - first]
          : await this.fromPrev.take('act', op.mb);
        if (!input) throw new Error(`stage ${index}: no input for microbatch ${op.mb}`);
        const t1 = performance.now();
        const target = this.isLast ? msg.targets?.[op.mb - first] : undefined;
        if (this.isLast && !target)
          throw new Error(`stage ${index}: no targets for microbatch ${op.mb}`);
        const scale = target ? target.shape[0] / msg.batchRows[op.batch - msg.firstBatch] : 1;
        const loss = this.forward(op, input, target, scale);
        if (target) losses[op.batch - msg.firstBatch] += loss;
        fwdVersion.set(op.mb, op.version);
        this.stats.fwdMs += performance.now() - t1;
      } else if (op.kind === 'B') {
        const dy = this.isLast ? undefined : await this.fromNext.take('grad', op.mb);
        const t1 = performance.now();
        this.backward(op, dy);
        this.stats.versionLog.push([op.mb, fwdVersion.get(op.mb) ?? -1, op.version]);
        fwdVersion.delete(op.mb);
        this.stats.bwdMs += performance.now() - t1;
      } else {
        this.update(op, ops);
        this.stats.updateMs += performance.now() - t0;
      }
      this.stats.maxVersions = Math.max(this.stats.maxVersions, this.versions.size);
      this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.inFlight.size);
    }
    this.stats.numTensors = tf.memory().numTensors;
    return { losses, stats: this.stats };
  }

  /** Recorded forward of the stage's layers on the microbatch's version; sends the output on. */
  private forward(
    op: PipeOp & { kind: 'F' },
    rows: Rows,
    target: Rows | undefined,
    scale: number,
  ): number {
    this.useVersion(op.version);
    const input = tf.keep(tf.tensor(rows.values, rows.shape, 'float32'));
    const tape = recordTape(() => {
      let h = input;
      for (const s of this.stages) h = s.run(h, true);
      return h;
    });
    const entry: InFlight = { input, tape, version: op.version };
    this.inFlight.set(op.mb, entry);
    if (!target) {
      if (!this.init.next) throw new Error(`stage ${this.init.index}: no next stage`);
      sendRows(this.init.next, 'act', op.mb, tape.output);
      tape.output.dispose();
      return 0;
    }
    return tf.tidy(() => {
      const ys = tf.tensor(target.values, target.shape, 'float32');
      const f = (y: tf.Tensor) => tf.mul(this.loss.mean(ys, y), scale) as tf.Scalar;
      const { value, grads } = tf.valueAndGrads(f)([tape.output]);
      entry.dy = tf.keep(grads[0]);
      return value.dataSync()[0];
    });
  }

  /** Backward of a microbatch on the version its forward stashed; accumulates the gradient. */
  private backward(op: PipeOp & { kind: 'B' }, rows: Rows | undefined): void {
    const e = this.inFlight.get(op.mb);
    if (!e)
      throw new Error(
        `stage ${this.init.index}: backward of microbatch ${op.mb} before its forward`,
      );
    if (e.version !== op.version)
      throw new Error(
        `stage ${this.init.index}: microbatch ${op.mb} forward on version ${e.version}, backward on ${op.version}`,
      );
    this.inFlight.delete(op.mb);
    this.useVersion(e.version);
    tf.tidy(() => {
      const dy = rows ? tf.tensor(rows.values, rows.shape, 'float32') : (e.dy as tf.Tensor);
      const wrt = this.isFirst ? this.vars : [e.input, ...this.vars];
      const grads = e.tape.backward(dy, wrt);
      const gv = this.isFirst ? grads : grads.slice(1);
      if (!this.isFirst) {
        if (!this.init.prev) throw new Error(`stage ${this.init.index}: no previous stage`);
        sendRows(this.init.prev, 'grad', op.mb, grads[0]);
      }
      const sum = this.accum ? gv.map((g, j) => tf.add((this.accum as tf.Tensor[])[j], g)) : gv;
      if (this.accum) tf.dispose(this.accum);
      this.accum = sum.map((g) => tf.keep(g));
    });
    e.tape.dispose();
    tf.dispose([e.input, e.tape.output, ...(e.dy ? [e.dy] : [])]);
  }

  /**
   * Applies the batch's coalesced gradient to the latest weights (making version `op.version`),
   * then frees every version no in-flight microbatch stashed and no later forward will use.
   */
  private update(op: PipeOp & { kind: 'U' }, ops: PipeOp[]): void {
    if (!this.accum) throw new Error(`stage ${this.init.index}: update without gradients`);
    const grads: tf.NamedTensorMap = {};
    this.master.forEach((v, j) => {
      grads[v.name] = (this.accum as tf.Tensor[])[j];
    });
    tf.tidy(() => this.optimizer.applyGradients(grads));
    tf.dispose(this.accum);
    this.accum = null;
    this.latest = op.version;
    const at = ops.indexOf(op);
    let needed = this.latest;
    for (let i = at + 1; i < ops.length; i++) {
      const o = ops[i];
      if (o.kind === 'F') {
        needed = Math.min(needed, o.version);
        break;
      }
    }
    // Versions are nondecreasing along a run, so the next forward's version bounds later ones;
    // with no forward left, the next run's first batch uses batchVersion of it (2BW: latest - 1).
    if (at === ops.length - 1 || !ops.slice(at + 1).some((o) => o.kind === 'F'))
      needed = this.init.mode === '2bw' ? Math.max(0, this.latest - 1) : this.latest;
    for (const e of this.inFlight.values()) needed = Math.min(needed, e.version);
    // Free the versions nothing needs before keeping the new one: at most two are ever held.
    for (const [v, w] of this.versions) {
      if (v < needed) {
        tf.dispose(w);
        this.versions.delete(v);
      }
    }
    this.versions.set(
      op.version,
      this.master.map((v) => tf.keep(v.clone())),
    );
  }

  /** Frees every tensor this stage holds (its versions, optimizer, model). */
  dispose(): void {
    for (const w of this.versions.values()) tf.dispose(w);
    this.versions.clear();
    for (const e of this.inFlight.values()) {
      e.tape.dispose();
      tf.dispose([e.input, e.tape.output, ...(e.dy ? [e.dy] : [])]);
    }
    this.inFlight.clear();
    if (this.accum) tf.dispose(this.accum);
    this.accum = null;
    tf.dispose(this.master);
    this.optimizer.dispose();
    this.model.dispose();
  }

  /**
   * The latest weights of the stage's layers (trainable ones, then batch-norm statistics) and
   * their indices in `model.weights`.
   */
  weights(): { indices: number[]; values: Float32Array[] } {
    return {
      indices: [...this.weightIndices, ...this.state.map((e) => e.index)],
      values: [
        ...this.master.map((v) => (v.dataSync() as Float32Array).slice()),
        ...this.state.map((e) => (e.weight.read().dataSync() as Float32Array).slice()),
      ],
    };
  }
}
