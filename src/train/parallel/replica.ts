// The worker side of data-parallel training: one copy of the model that computes the gradient of
// its shard of each batch. The optimizer is sharded (as in ZeRO stage 1): each replica sums the
// gradients of the weight ranges it owns, updates them with its own optimizer (which holds state
// for those ranges only) and publishes them; then every replica reads all the new weights.
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../engine/backend.js';
import { useFastKernels, useStockKernels } from '../../kernels/index.js';
import {
  computeGradients,
  defaultForward,
  type GradientContext,
  trainableVariables,
} from '../gradients.js';
import { lossByName } from '../loss.js';
import { makeOptimizer } from '../optimizer.js';
import { arriveAndWait } from './barrier.js';
import { type OwnedRange, ownedRanges } from './owned-ranges.js';
import {
  elementCount,
  exchangeSlot,
  type ReplicaInit,
  type ReplicaStepTimings,
  type ToReplica,
} from './protocol.js';

type StepMessage = Extract<ToReplica, { type: 'step' }>;

/** The part of one trainable variable a replica updates: a flat copy of its owned range. */
interface OwnedPart {
  /** Offset of the variable in the flattened trainable weights. */
  offset: number;
  range: OwnedRange;
  /** The owned elements as a variable of their own, for this replica's optimizer. */
  variable: tf.Variable;
}

export class Replica {
  private constructor(
    private readonly init: ReplicaInit,
    private readonly model: tf.LayersModel,
    private readonly optimizer: tf.Optimizer,
    private readonly owned: OwnedPart[],
  ) {}

  /** Starts this thread's tfjs engine and loads the model from the main thread's artifacts. */
  static async create(init: ReplicaInit): Promise<Replica> {
    await initEngine({ backend: init.backend, threads: init.threads });
    if (init.fastKernels) useFastKernels();
    else useStockKernels();
    const model = await tf.loadLayersModel(tf.io.fromMemory(init.artifacts));
    checkLayout(init, model);
    const vars = trainableVariables(model);
    const ranges = ownedRanges(
      vars.map((v) => v.size),
      init.parties,
      init.index,
    );
    const owned: OwnedPart[] = [];
    let offset = 0;
    vars.forEach((v, j) => {
      const range = ranges[j];
      if (range.end > range.start) {
        const values = (v.dataSync() as Float32Array).slice(range.start, range.end);
        const variable = tf.variable(tf.tensor1d(values, 'float32'), true, `owned/${j}/${v.name}`);
        owned.push({ offset, range, variable });
      }
      offset += v.size;
    });
    const optimizer = makeOptimizer(init.optimizer.name, init.optimizer.learningRate);
    return new Replica(init, model, optimizer, owned);
  }

  /**
   * One step: gradient of this shard's loss (its mean loss scaled by shard rows / batch rows, so
   * that the shards' gradients sum to the full batch's), written to shared memory; then the update
   * of the owned ranges with the summed gradient, published; then all new weights read back and the
   * moving statistics averaged. Returns the scaled loss and timings.
   */
  step(msg: StepMessage): { loss: number; timings: ReplicaStepTimings } {
    const { index, parties, control, exchange, layout } = this.init;
    const total = msg.shardSizes.reduce((a, b) => a + b, 0);
    const rows = msg.shardSizes[index];
    const slot = exchangeSlot(exchange, layout, parties, msg.step, index);
    const t0 = performance.now();
    const loss = rows > 0 ? this.shardGradient(msg, rows / total, slot) : 0;
    if (rows === 0) slot.fill(0);
    const t1 = performance.now();
    arriveAndWait(control, parties, 2 * msg.step - 1);
    const t2 = performance.now();
    this.updateOwned(msg.step);
    const t3 = performance.now();
    arriveAndWait(control, parties, 2 * msg.step);
    const t4 = performance.now();
    this.readPublished();
    this.averageState(msg.step, msg.shardSizes);
    const t5 = performance.now();
    return {
      loss,
      timings: { gradientMs: t1 - t0, waitMs: t2 - t1 + (t4 - t3), updateMs: t3 - t2 + (t5 - t4) },
    };
  }

  private shardGradient(msg: StepMessage, scale: number, slot: Float32Array): number {
    const vars = trainableVariables(this.model);
    const ctx: GradientContext = {
      variables: vars,
      forward: defaultForward(this.model),
      loss: lossByName(this.init.loss),
    };
    return tf.tidy(() => {
      const xs = tf.tensor(msg.xs, msg.xsShape, 'float32');
      const ys = tf.tensor(msg.ys, msg.ysShape, 'float32');
      const { value, grads } = computeGradients(ctx, { xs, ys }, { scale });
      let offset = 0;
      for (const v of vars) {
        const g = grads[v.name];
        if (g) slot.set(g.dataSync() as Float32Array, offset);
        else slot.fill(0, offset, offset + v.size);
        offset += v.size;
      }
      for (const w of this.model.nonTrainableWeights) {
        const values = w.read().dataSync() as Float32Array;
        slot.set(values, offset);
        offset += values.length;
      }
      return value.dataSync()[0];
    });
  }

  private slots(step: number): Float32Array[] {
    const { parties, exchange, layout } = this.init;
    return Array.from({ length: parties }, (_, i) =>
      exchangeSlot(exchange, layout, parties, step, i),
    );
  }

  /**
   * Sums the replicas' gradients of the owned ranges (tf.addN, replica order: copying the slots
   * into the backend and adding there beats a JS loop on wasm), applies this replica's optimizer
   * to them and publishes the new values. Slot ranges are copied (`slice`) before they become
   * tensors: the cpu backend would otherwise keep a view of shared memory.
   */
  private updateOwned(step: number): void {
    const slots = this.slots(step);
    const grads: tf.NamedTensorMap = {};
    for (const { offset, range, variable } of this.owned) {
      const from = offset + range.start;
      const to = offset + range.end;
      grads[variable.name] = tf.tidy(() =>
        tf.addN(slots.map((slot) => tf.tensor1d(slot.slice(from, to), 'float32'))),
      );
    }
    tf.tidy(() => this.optimizer.applyGradients(grads));
    tf.dispose(Object.values(grads));
    for (const { offset, range, variable } of this.owned)
      this.init.published.set(variable.dataSync() as Float32Array, offset + range.start);
  }

  /** Every trainable variable takes the published values (the same on every replica). */
  private readPublished(): void {
    let offset = 0;
    for (const v of trainableVariables(this.model)) {
      const values = this.init.published.slice(offset, offset + v.size);
      tf.tidy(() => v.assign(tf.tensor(values, v.shape, 'float32')));
      offset += v.size;
    }
  }

  /**
   * Non-trainable weights (BatchNorm moving mean and variance) become the shard-size-weighted mean
   * of the replicas' values, accumulated in float64 (weights no shard changed stay exact).
   */
  private averageState(step: number, shardSizes: number[]): void {
    const state = this.model.nonTrainableWeights;
    if (state.length === 0) return;
    const slots = this.slots(step);
    let offset = 0;
    for (const shape of this.init.layout.trainable) offset += elementCount(shape);
    const total = shardSizes.reduce((a, b) => a + b, 0);
    for (const w of state) {
      const shape = w.read().shape;
      const size = elementCount(shape);
      const acc = new Float64Array(size);
      for (let r = 0; r < slots.length; r++) {
        const rows = shardSizes[r];
        if (rows === 0) continue;
        for (let k = 0; k < size; k++) acc[k] += rows * slots[r][offset + k];
      }
      const mean = Float32Array.from(acc, (x) => x / total);
      const value = tf.tensor(mean, shape, 'float32');
      w.write(value);
      value.dispose();
      offset += size;
    }
  }

  /** Copies of every weight, in `model.weights` order. */
  weights(): Float32Array[] {
    return this.model.weights.map((w) => (w.read().dataSync() as Float32Array).slice());
  }
}

function checkLayout(init: ReplicaInit, model: tf.LayersModel): void {
  const shapes = (ws: tf.LayerVariable[]) => JSON.stringify(ws.map((w) => w.shape));
  const { trainable, state } = init.layout;
  if (
    shapes(model.trainableWeights) !== JSON.stringify(trainable) ||
    shapes(model.nonTrainableWeights) !== JSON.stringify(state)
  ) {
    throw new Error(
      `replica ${init.index}: the loaded model's weights do not match the main thread's (trainable ${shapes(model.trainableWeights)} vs ${JSON.stringify(trainable)})`,
    );
  }
}
