import * as tf from '@tensorflow/tfjs';
import { configWith } from '../../models/layers/layer-config.js';
import { fromSeededConfig } from '../../models/layers/seeded-config.js';

export interface TtmDenseArgs {
  /** Factors of the input width (product must equal the input's last dimension). */
  inFactors: number[];
  /** Factors of the output width (same count as inFactors); units = their product. */
  outFactors: number[];
  /** Internal TT ranks r_1..r_{d-1} (a single number means all equal). */
  ranks: number | number[];
  activation?: string;
  useBias?: boolean;
  seed?: number;
  name?: string;
  trainable?: boolean;
  /** Initial weights: cores [r_{k-1}, m_k, n_k, r_k] for k = 1..d, then the bias. */
  weights?: tf.Tensor[];
}

function checkFactors(name: string, f: unknown): number[] {
  if (!Array.isArray(f) || f.length < 2 || f.some((x) => !Number.isInteger(x) || x < 1)) {
    throw new Error(
      `TtmDense: ${name} must be a list of at least 2 positive integers, got ${JSON.stringify(f)}`,
    );
  }
  return f as number[];
}

/**
 * Dense layer whose weight W [prod m_k, prod n_k] is a tensor-train matrix: cores G_k of shape
 * [r_{k-1}, m_k, n_k, r_k]. The forward contracts the input with one core at a time
 * (reshape, transpose, matmul) and never forms W; the backward is tfjs autodiff of those
 * same contractions, so it never forms W either. Parameters: sum_k r_{k-1} m_k n_k r_k.
 */
export class TtmDense extends tf.layers.Layer {
  static className = 'FrugalTtmDense';
  readonly inFactors: number[];
  readonly outFactors: number[];
  readonly ranks: number[];
  readonly units: number;
  readonly activationName: string;
  readonly useBias: boolean;
  readonly seed: number | undefined;
  private readonly activationFn: (x: tf.Tensor) => tf.Tensor;
  private cores: tf.LayerVariable[] = [];
  private bias: tf.LayerVariable | null = null;

  constructor(args: TtmDenseArgs) {
    super(args);
    this.inFactors = checkFactors('inFactors', args.inFactors);
    this.outFactors = checkFactors('outFactors', args.outFactors);
    if (this.inFactors.length !== this.outFactors.length) {
      throw new Error(
        `TtmDense: inFactors and outFactors need the same length (${this.inFactors.length} vs ${this.outFactors.length})`,
      );
    }
    const d = this.inFactors.length;
    const ranks =
      typeof args.ranks === 'number' ? new Array<number>(d - 1).fill(args.ranks) : args.ranks;
    if (ranks.length !== d - 1 || ranks.some((r) => !Number.isInteger(r) || r < 1)) {
      throw new Error(
        `TtmDense: ranks must be ${d - 1} positive integers, got ${JSON.stringify(args.ranks)}`,
      );
    }
    this.ranks = ranks;
    this.units = this.outFactors.reduce((a, b) => a * b, 1);
    this.activationName = args.activation ?? 'linear';
    this.useBias = args.useBias ?? true;
    this.seed = args.seed;
    const act = tf.layers.activation({ activation: this.activationName as 'linear' });
    this.activationFn = (x) => act.apply(x) as tf.Tensor;
  }

  /** Core shapes [r_{k-1}, m_k, n_k, r_k]. */
  coreShapes(): number[][] {
    const r = [1, ...this.ranks, 1];
    return this.inFactors.map((m, k) => [r[k], m, this.outFactors[k], r[k + 1]]);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as tf.Shape;
    const inDim = shape[shape.length - 1];
    const expected = this.inFactors.reduce((a, b) => a * b, 1);
    if (inDim !== expected) {
      throw new Error(
        `${this.name}: input width ${inDim} is not the product of inFactors [${this.inFactors}] = ${expected}`,
      );
    }
    // Random cores with Var(W_ij) = 2 / (in + units) (Glorot): every core entry has
    // variance (target / prod r)^(1/d).
    const d = this.inFactors.length;
    const rankProduct = this.ranks.reduce((a, b) => a * b, 1);
    const std = Math.sqrt((2 / (expected + this.units) / rankProduct) ** (1 / d));
    this.cores = this.coreShapes().map((s, k) =>
      this.addWeight(
        `core_${k}`,
        s,
        'float32',
        tf.initializers.randomNormal({
          mean: 0,
          stddev: std,
          seed: this.seed === undefined ? undefined : this.seed + k,
        }),
      ),
    );
    this.bias = this.useBias
      ? this.addWeight('bias', [this.units], 'float32', tf.initializers.zeros())
      : null;
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const shape = inputShape as tf.Shape;
    return [...shape.slice(0, -1), this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const lead = x.shape.slice(0, -1);
      const batch = lead.reduce((a, b) => a * b, 1);
      let y = ttmContract(
        x.reshape([batch, x.shape[x.shape.length - 1]]),
        this.cores.map((c) => c.read()),
        this.inFactors,
        this.outFactors,
      );
      if (this.bias) y = tf.add(y, this.bias.read());
      return this.activationFn(y).reshape([...lead, this.units]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return configWith(super.getConfig(), this, ['inFactors', 'outFactors', 'ranks'], {
      activation: this.activationName,
      useBias: this.useBias,
      seed: this.seed ?? null,
    });
  }

  static override fromConfig = fromSeededConfig;
}
tf.serialization.registerClass(TtmDense);

/**
 * y = x W for W given as TT-matrix cores, without forming W. x: [B, prod m]; returns [B, prod n].
 * State before core k: [B * N_<k, r_{k-1}, m_k, M_>k]; contract (r_{k-1}, m_k) with the core.
 */
export function ttmContract(
  x: tf.Tensor,
  cores: tf.Tensor[],
  inFactors: number[],
  outFactors: number[],
): tf.Tensor2D {
  const batch = x.shape[0];
  const d = inFactors.length;
  cores.forEach((c, k) => {
    if (c.shape[1] !== inFactors[k] || c.shape[2] !== outFactors[k]) {
      throw new Error(
        `ttmContract: core ${k} has shape [${c.shape}], expected [r, ${inFactors[k]}, ${outFactors[k]}, r']`,
      );
    }
  });
  let nDone = 1;
  let mRest = inFactors.reduce((a, b) => a * b, 1);
  let z = x.reshape([batch, 1, mRest]);
  for (let k = 0; k < d; k++) {
    const [r0, m, n, r1] = cores[k].shape;
    mRest /= m;
    const rows = batch * nDone;
    const t = z
      .reshape([rows, r0, m, mRest])
      .transpose([0, 3, 1, 2])
      .reshape([rows * mRest, r0 * m]);
    const prod = tf.matMul(t as tf.Tensor2D, cores[k].reshape([r0 * m, n * r1]) as tf.Tensor2D);
    z = prod.reshape([rows, mRest, n, r1]).transpose([0, 2, 3, 1]);
    nDone *= n;
  }
  return z.reshape([batch, nDone]) as tf.Tensor2D;
}
