// The worker side of data-parallel training: one copy of the model and optimizer that computes the
// gradient of its shard, exchanges it through shared memory, and applies the summed gradient.
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../engine/backend.js';
import { useFastKernels, useStockKernels } from '../../kernels/index.js';
import { makeOptimizer } from '../optimizer.js';
import { classificationLoss, defaultForward, trainableVariables } from '../step.js';
import { arriveAndWait } from './barrier.js';
import {
  elementCount,
  exchangeSlot,
  type ReplicaInit,
  type ReplicaStepTimings,
  type ToReplica,
} from './protocol.js';

type StepMessage = Extract<ToReplica, { type: 'step' }>;

export class Replica {
  private constructor(
    private readonly init: ReplicaInit,
    private readonly model: tf.LayersModel,
    private readonly optimizer: tf.Optimizer,
  ) {}

  /** Starts this thread's tfjs engine and loads the model from the main thread's artifacts. */
  static async create(init: ReplicaInit): Promise<Replica> {
    await initEngine({ backend: init.backend });
    if (init.fastKernels) useFastKernels();
    else useStockKernels();
    const model = await tf.loadLayersModel(tf.io.fromMemory(init.artifacts));
    const replica = new Replica(
      init,
      model,
      makeOptimizer(init.optimizer.name, init.optimizer.learningRate),
    );
    replica.checkLayout();
    return replica;
  }

  private checkLayout(): void {
    const shapes = (ws: tf.LayerVariable[]) => JSON.stringify(ws.map((w) => w.shape));
    const { trainable, state } = this.init.layout;
    if (
      shapes(this.model.trainableWeights) !== JSON.stringify(trainable) ||
      shapes(this.model.nonTrainableWeights) !== JSON.stringify(state)
    ) {
      throw new Error(
        `replica ${this.init.index}: the loaded model's weights do not match the main thread's (trainable ${shapes(this.model.trainableWeights)} vs ${JSON.stringify(trainable)})`,
      );
    }
  }

  /**
   * One step: gradient of this shard's loss (its mean loss scaled by shard rows / batch rows, so
   * that the shards' gradients sum to the full batch's), written to shared memory; then, once every
   * replica has written, the same summed gradient applied by every replica. Returns the scaled loss and timings.
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
    arriveAndWait(control, parties, msg.step);
    const t2 = performance.now();
    this.applySummedGradient(msg.step);
    this.averageState(msg.step, msg.shardSizes);
    const t3 = performance.now();
    return { loss, timings: { gradientMs: t1 - t0, waitMs: t2 - t1, updateMs: t3 - t2 } };
  }

  private shardGradient(msg: StepMessage, scale: number, slot: Float32Array): number {
    const forward = defaultForward(this.model);
    const vars = trainableVariables(this.model);
    return tf.tidy(() => {
      const xs = tf.tensor(msg.xs, msg.xsShape, 'float32');
      const ys = tf.tensor(msg.ys, msg.ysShape, 'float32');
      const { value, grads } = tf.variableGrads(
        () => tf.mul(classificationLoss(ys, forward(xs, true)), scale) as tf.Scalar,
        vars,
      );
      let offset = 0;
      for (const v of vars) {
        const size = elementCount(v.shape);
        const g = grads[v.name];
        if (g) slot.set(g.dataSync() as Float32Array, offset);
        else slot.fill(0, offset, offset + size);
        offset += size;
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
   * Sums the replicas' gradients with tf.addN in replica order: every replica computes the same
   * floats from the same inputs. (Copying the slots into the backend and adding there is faster
   * than a JS loop on wasm.) The gradient tensors live only for this update.
   */
  private applySummedGradient(step: number): void {
    const slots = this.slots(step);
    const vars = trainableVariables(this.model);
    const grads: tf.NamedTensorMap = {};
    let offset = 0;
    for (const v of vars) {
      const size = elementCount(v.shape);
      const parts = slots.map((slot) => slot.subarray(offset, offset + size));
      grads[v.name] = tf.tidy(() => tf.addN(parts.map((p) => tf.tensor(p, v.shape, 'float32'))));
      offset += size;
    }
    tf.tidy(() => this.optimizer.applyGradients(grads));
    tf.dispose(Object.values(grads));
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
