import * as tf from '@tensorflow/tfjs';
import { ADAM_UPDATE_KERNEL, adamKernelAvailable, registerAdamKernel } from './adam-kernel.js';

type NamedTensor = { name: string; tensor: tf.Tensor };

interface Slots {
  m: tf.Variable;
  v: tf.Variable;
}

/**
 * Adam with the same arithmetic as `tf.train.adam`, but the update frees each temporary as soon
 * as it is used, variable by variable: at most three temporaries of one variable's size are live.
 * tfjs's Adam keeps about a dozen temporaries of every variable until the whole update ends,
 * which sets the peak of a training step once activations are compressed. Moments are keyed by
 * variable name. On the cpu and wasm backends each variable's update is one kernel
 * (adam-kernel.ts: one pass, the same float32 operations in the same order, so the same results).
 */
export class FrugalAdam extends tf.Optimizer {
  static get className(): string {
    return 'FrugalAdam';
  }

  readonly epsilon: number;
  private readonly slots = new Map<string, Slots>();
  private readonly accBeta1: tf.Variable;
  private readonly accBeta2: tf.Variable;

  constructor(
    public learningRate: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    epsilon: number | null = null,
  ) {
    super();
    this.epsilon = epsilon ?? tf.backend().epsilon();
    this.accBeta1 = tf.tidy(() => tf.scalar(beta1).variable(false));
    this.accBeta2 = tf.tidy(() => tf.scalar(beta2).variable(false));
  }

  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const named = Array.isArray(variableGradients)
      ? variableGradients
      : Object.keys(variableGradients).map((name) => ({ name, tensor: variableGradients[name] }));
    const oneMinusAccBeta1 = tf.tidy(() => tf.sub(1, this.accBeta1));
    const oneMinusAccBeta2 = tf.tidy(() => tf.sub(1, this.accBeta2));
    const fused = adamKernelAvailable();
    // The bias corrections as the float32 tensors hold them (read once per step, when fused).
    const corrections = fused
      ? { c1: oneMinusAccBeta1.dataSync()[0], c2: oneMinusAccBeta2.dataSync()[0] }
      : null;
    for (const { name, tensor: gradient } of named) {
      if (gradient == null) continue;
      const value = tf.engine().registeredVariables[name];
      if (!value) throw new Error(`FrugalAdam: no variable named '${name}'`);
      const slot = this.slot(name, value);
      if (corrections && value.dtype === 'float32' && gradient.dtype === 'float32') {
        this.fusedUpdate(value, slot, gradient, corrections.c1, corrections.c2);
      } else {
        this.update(value, slot, gradient, oneMinusAccBeta1, oneMinusAccBeta2);
      }
    }
    tf.dispose([oneMinusAccBeta1, oneMinusAccBeta2]);
    tf.tidy(() => {
      this.accBeta1.assign(tf.mul(this.accBeta1, this.beta1));
      this.accBeta2.assign(tf.mul(this.accBeta2, this.beta2));
    });
    this.incrementIterations();
  }

  /**
   * One variable's update, tf.train.adam's operations in its order, each temporary freed as soon
   * as the next operation has used it: at most three temporaries of the variable's size are live.
   */
  private update(
    value: tf.Variable,
    slot: Slots,
    g: tf.Tensor,
    oneMinusAccBeta1: tf.Tensor,
    oneMinusAccBeta2: tf.Tensor,
  ): void {
    const step = (f: () => tf.Tensor, ...done: tf.Tensor[]): tf.Tensor => {
      const out = f();
      tf.dispose(done);
      return out;
    };
    // The new moments go into their slots at once (the slots' old buffers are freed), and the
    // bias-corrected ones are computed from the slots: the values tfjs computes, fewer buffers.
    let a = tf.mul(slot.m, this.beta1);
    let b = tf.mul(g, 1 - this.beta1);
    a = step(() => tf.add(a, b), a, b);
    slot.m.assign(a);
    a.dispose();
    a = tf.square(g);
    b = step(() => tf.mul(a, 1 - this.beta2), a);
    a = tf.mul(slot.v, this.beta2);
    a = step(() => tf.add(a, b), a, b);
    slot.v.assign(a);
    a.dispose();
    a = tf.div(slot.v, oneMinusAccBeta2);
    a = step(() => tf.sqrt(a), a);
    b = step(() => tf.add(a, this.epsilon), a);
    const mHat = tf.div(slot.m, oneMinusAccBeta1);
    a = step(() => tf.div(mHat, b), mHat, b);
    b = step(() => tf.mul(a, -this.learningRate), a);
    a = step(() => tf.add(b, value), b);
    value.assign(a);
    a.dispose();
  }

  /** `update` as one kernel: three new buffers of the variable's size, nothing else. */
  private fusedUpdate(value: tf.Variable, slot: Slots, g: tf.Tensor, c1: number, c2: number): void {
    const outs = tf.engine().runKernel(
      ADAM_UPDATE_KERNEL,
      { value, m: slot.m, v: slot.v, g },
      {
        beta1: this.beta1,
        beta2: this.beta2,
        oneMinusBeta1: 1 - this.beta1,
        oneMinusBeta2: 1 - this.beta2,
        oneMinusAccBeta1: c1,
        oneMinusAccBeta2: c2,
        epsilon: this.epsilon,
        learningRate: this.learningRate,
      },
    ) as tf.Tensor[];
    const [w, m, v] = outs;
    slot.m.assign(m);
    slot.v.assign(v);
    value.assign(w);
    tf.dispose(outs);
  }

  private slot(name: string, value: tf.Variable): Slots {
    let s = this.slots.get(name);
    if (!s) {
      s = {
        m: tf.tidy(() => tf.zerosLike(value).variable(false)),
        v: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      this.slots.set(name, s);
    }
    return s;
  }

  override dispose(): void {
    tf.dispose([this.accBeta1, this.accBeta2]);
    for (const s of this.slots.values()) tf.dispose([s.m, s.v]);
    this.slots.clear();
  }

  override async getWeights(): Promise<NamedTensor[]> {
    const out: NamedTensor[] = [await this.saveIterations()];
    for (const [name, s] of this.slots) {
      out.push({ name: `${name}/m`, tensor: s.m }, { name: `${name}/v`, tensor: s.v });
    }
    return out;
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    tf.tidy(() => {
      this.accBeta1.assign(tf.pow(this.beta1, this.iterations + 1));
      this.accBeta2.assign(tf.pow(this.beta2, this.iterations + 1));
    });
    for (const w of rest) {
      const slash = w.name.lastIndexOf('/');
      const name = w.name.slice(0, slash);
      const kind = w.name.slice(slash + 1);
      const value = tf.engine().registeredVariables[name];
      if (!value || (kind !== 'm' && kind !== 'v')) {
        throw new Error(`FrugalAdam.setWeights: unexpected weight '${w.name}'`);
      }
      this.slot(name, value)[kind].assign(w.tensor);
    }
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
    };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(config.learningRate, config.beta1, config.beta2, config.epsilon);
  }
}
tf.serialization.registerClass(FrugalAdam);
registerAdamKernel();
