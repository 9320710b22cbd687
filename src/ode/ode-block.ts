import * as tf from '@tensorflow/tfjs';
import { makeRng, type Rng } from '../engine/random.js';
import type { ParamOdeFn } from './adjoint-backward.js';
import {
  addOdeFuncWeights,
  makeOdeFunc,
  type OdeActivation,
  type OdeFuncKind,
  type OdeFuncNorm,
  type OdeFuncSpec,
  odeFuncOptions,
} from './ode-func.js';
import { odeSolve, type SolveConfig, validateSolveConfig } from './solve.js';
import { rk2 } from './tableaus.js';

/**
 * Solver smoothing (meta-solver): the rk2 parameter u drawn from U[low, high] per training call
 * (one batch). Inference uses the config's u, or the middle of the range when u is unset.
 */
export interface SolverSmoothing {
  low: number;
  high: number;
}

export interface OdeBlockArgs extends Partial<SolveConfig> {
  /** 'conv' for image features [b, h, w, c] (default for rank 4), 'dense' for [b, d]. */
  fn?: OdeFuncKind;
  /** Hidden channels / units of f (default: the input's). */
  hidden?: number;
  /** Normalisation inside f. */
  norm?: OdeFuncNorm;
  activation?: OdeActivation;
  /** Sample the solver parameter per training call (rk2 only); null: fixed. */
  smoothing?: SolverSmoothing | null;
  seed?: number;
  name?: string;
  trainable?: boolean;
  /** Other tfjs layer arguments (inputShape, batchInputShape, dtype, ...). */
  inputShape?: tf.Shape;
  batchInputShape?: tf.Shape;
}

const SOLVE_KEYS = new Set(Object.keys(validateSolveConfig()));

export function checkSmoothing(s: SolverSmoothing | null, c: SolveConfig): void {
  if (s === null) return;
  if (c.solver !== 'rk2')
    throw new Error(
      `OdeBlock: solver smoothing samples the rk2 parameter u, but the solver is '${c.solver}'`,
    );
  if (!(s.high > s.low))
    throw new Error(`OdeBlock: smoothing needs low < high, got [${s.low}, ${s.high}]`);
  rk2(s.low);
  rk2(s.high);
}

/**
 * A neural-ODE layer: z(t1) where dz/dt = f(z, t; theta), z(t0) = input, f a small conv or
 * dense network with the time as an input channel (see `ode-func.ts`). The solver, its
 * parameters and the gradient method (backprop, adjoint, IRDM) are part of the layer's config
 * and survive save/load. `setSolve` changes the solver after training (test-time solvers).
 */
export class OdeBlock extends tf.layers.Layer {
  static className = 'FrugalOdeBlock';
  solve: SolveConfig;
  readonly fn: OdeFuncKind | undefined;
  readonly hidden: number | undefined;
  readonly norm: OdeFuncNorm;
  readonly activation: OdeActivation;
  readonly smoothing: SolverSmoothing | null;
  readonly seed: number | undefined;
  /** The rk2 parameter of the last training call under smoothing. */
  lastU: number | null = null;
  private spec: OdeFuncSpec | null = null;
  private f: ParamOdeFn | null = null;
  private odeWeights: tf.LayerVariable[] = [];
  private movingStats: tf.LayerVariable[] = [];
  /** Momentum of the moving statistics of batch norm inside f. */
  static readonly BN_MOMENTUM = 0.9;
  private rng: Rng;

  constructor(args: OdeBlockArgs = {}) {
    const { fn, hidden, norm, activation, smoothing, seed, ...rest } = args;
    const solve: Record<string, unknown> = {};
    const layerArgs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(rest)) {
      if (SOLVE_KEYS.has(k)) solve[k] = v;
      else layerArgs[k] = v;
    }
    super(layerArgs);
    this.solve = validateSolveConfig(solve);
    const f = odeFuncOptions('OdeBlock', { fn, hidden, norm, activation });
    [this.fn, this.hidden, this.norm, this.activation] = [f.fn, f.hidden, f.norm, f.activation];
    this.smoothing = smoothing ?? null;
    checkSmoothing(this.smoothing, this.solve);
    this.seed = seed;
    this.rng = makeRng((seed ?? 0) * 7919 + 17);
  }

  /** Replaces solver fields (validated), e.g. a stronger solver at test time. */
  setSolve(changes: Partial<SolveConfig>): void {
    const next = validateSolveConfig({ ...this.solve, ...changes });
    checkSmoothing(this.smoothing, next);
    this.solve = next;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as tf.Shape;
    const kind = this.fn ?? (shape.length === 4 ? 'conv' : 'dense');
    const want = kind === 'conv' ? 4 : 2;
    if (shape.length !== want)
      throw new Error(
        `${this.name}: a ${kind} ODE block needs inputs of rank ${want} ([batch, ${kind === 'conv' ? 'h, w, c' : 'features'}]), got [${shape}]`,
      );
    const channels = shape[shape.length - 1];
    if (channels == null) throw new Error(`${this.name}: the last input dimension must be known`);
    const spec = {
      kind,
      channels,
      hidden: this.hidden ?? channels,
      norm: this.norm,
      activation: this.activation,
    };
    const seed = this.seed === undefined ? undefined : this.seed * 1000 + 11;
    const added = addOdeFuncWeights(
      (name, shape, init, trainable) =>
        this.addWeight(name, shape, 'float32', init, undefined, trainable),
      spec,
      seed,
    );
    this.odeWeights = added.weights;
    this.movingStats = added.moving;
    this.spec = spec;
    this.f = spec.norm === 'batch' ? null : makeOdeFunc(spec);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  /** The solver config of one call: under smoothing, training calls draw u. */
  private callConfig(training: boolean): SolveConfig {
    if (!this.smoothing) return this.solve;
    if (!training)
      return { ...this.solve, u: this.solve.u ?? (this.smoothing.low + this.smoothing.high) / 2 };
    const u = this.smoothing.low + (this.smoothing.high - this.smoothing.low) * this.rng();
    this.lastU = u;
    return { ...this.solve, u };
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    return tf.tidy(() => {
      const z0 = Array.isArray(inputs) ? inputs[0] : inputs;
      if (!this.spec) throw new Error(`${this.name}: call before build`);
      const training = kwargs.training === true;
      const params = this.odeWeights.map((w) => w.read());
      const config = this.callConfig(training);
      if (this.spec.norm !== 'batch') return odeSolve(this.f as ParamOdeFn, z0, params, config);
      // Batch norm inside f: training evaluations of the forward solve report their batch
      // statistics; their mean updates the moving statistics once per call. The backward pass
      // of the adjoint and IRDM (later, outside this call) re-evaluates f with batch statistics
      // but does not touch the moving ones.
      const sums: (tf.Tensor | null)[] = [null, null, null, null];
      let count = 0;
      let solving = true;
      const collect = (i: number, mean: tf.Tensor, variance: tf.Tensor) => {
        if (!solving) return;
        if (i === 0) count++;
        for (const [k, v] of [
          [2 * i, mean],
          [2 * i + 1, variance],
        ] as const) {
          const prev = sums[k];
          sums[k] = tf.keep(prev ? tf.add(prev, v) : tf.clone(v));
          prev?.dispose();
        }
      };
      const moving = this.movingStats.map((w) => w.read());
      const f = makeOdeFunc(this.spec, { training, moving, collect });
      const out = odeSolve(f, z0, params, config);
      solving = false;
      if (training && count > 0) {
        const m = OdeBlock.BN_MOMENTUM;
        this.movingStats.forEach((w, k) => {
          w.write(tf.add(tf.mul(w.read(), m), tf.mul(sums[k] as tf.Tensor, (1 - m) / count)));
        });
      }
      tf.dispose(sums.filter((x): x is tf.Tensor => x !== null));
      return out;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      ...(this.solve as unknown as tf.serialization.ConfigDict),
      fn: this.fn ?? null,
      hidden: this.hidden ?? null,
      norm: this.norm,
      activation: this.activation,
      smoothing: this.smoothing ? { ...this.smoothing } : null,
      seed: this.seed ?? null,
    };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const { fn, hidden, seed, ...args } = config as Record<string, unknown>;
    if (fn !== null) args.fn = fn;
    if (hidden !== null) args.hidden = hidden;
    if (seed !== null) args.seed = seed;
    return new cls(args);
  }
}
tf.serialization.registerClass(OdeBlock);

/** The ODE blocks of a model, in layer order. */
export function odeBlocks(model: tf.LayersModel): OdeBlock[] {
  return model.layers.filter((l): l is OdeBlock => l instanceof OdeBlock);
}

/**
 * Runs `fn` with every ODE block of the model switched to other solver settings (e.g. more
 * steps or another u at test time), then restores them.
 */
export function withSolve<T>(model: tf.LayersModel, changes: Partial<SolveConfig>, fn: () => T): T {
  const blocks = odeBlocks(model);
  const saved = blocks.map((b) => b.solve);
  try {
    for (const b of blocks) b.setSolve(changes);
    return fn();
  } finally {
    blocks.forEach((b, i) => {
      b.solve = saved[i];
    });
  }
}
