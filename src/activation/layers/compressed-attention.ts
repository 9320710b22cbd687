import * as tf from '@tensorflow/tfjs';
import { compressedOp } from '../custom-grad.js';
import { type Saved, savedBytes, saveList, saveQuantized, splitSaved } from '../saved.js';
import { CompressedLayer, type CompressedLayerArgs, single } from './compressed-layer.js';

export interface CompressedAttentionArgs extends CompressedLayerArgs {
  numHeads: number;
  causal?: boolean;
  seed?: number | null;
}

/**
 * frugal's MultiHeadSelfAttention (same weights, same forward) whose backward keeps the input, the
 * per-head q, k, v, the attention probabilities and the attended values quantized, and computes
 * the whole attention gradient (projections, softmax, both matmuls) from them.
 */
export class CompressedMultiHeadSelfAttention extends CompressedLayer {
  static className = 'FrugalCompressedMultiHeadSelfAttention';
  readonly numHeads: number;
  readonly causal: boolean;
  readonly seed: number | undefined;
  private kernels: tf.LayerVariable[] = [];
  private biases: tf.LayerVariable[] = [];

  constructor(args: CompressedAttentionArgs) {
    super(args);
    if (!Number.isInteger(args.numHeads) || args.numHeads < 1)
      throw new Error(`${this.name}: numHeads must be a positive integer, got ${args.numHeads}`);
    this.numHeads = args.numHeads;
    this.causal = args.causal ?? false;
    this.seed = args.seed ?? undefined;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as tf.Shape;
    const d = shape[shape.length - 1];
    if (d == null || d % this.numHeads !== 0)
      throw new Error(`${this.name}: width ${d} is not divisible by numHeads ${this.numHeads}`);
    ['query', 'key', 'value', 'output'].forEach((n, i) => {
      const seed = this.seed === undefined ? undefined : this.seed + i;
      this.kernels.push(
        this.addWeight(`${n}_kernel`, [d, d], 'float32', tf.initializers.glorotUniform({ seed })),
      );
      this.biases.push(this.addWeight(`${n}_bias`, [d], 'float32', tf.initializers.zeros()));
    });
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs) as tf.Tensor3D;
      const [b, l, d] = x.shape;
      const h = this.numHeads;
      const dh = d / h;
      const w = this.kernels.map((k) => k.read() as tf.Tensor2D);
      const bias = this.biases.map((v) => v.read());
      const heads = (t: tf.Tensor) => t.reshape([b, l, h, dh]).transpose([0, 2, 1, 3]);
      const merge = (t: tf.Tensor) => t.transpose([0, 2, 1, 3]).reshape([b * l, d]) as tf.Tensor2D;
      const mask = this.causal
        ? tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([l, l]), -1, 0)), -1e9)
        : null;
      const forward = () => {
        const flat = x.reshape([b * l, d]) as tf.Tensor2D;
        const proj = (i: number) => tf.add(tf.matMul(flat, w[i]), bias[i]);
        const q = heads(proj(0));
        const k = heads(proj(1));
        const v = heads(proj(2));
        let s = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh));
        if (mask) s = tf.add(s, mask);
        const p = tf.softmax(s);
        const a = merge(tf.matMul(p, v));
        const out = tf.add(tf.matMul(a, w[3]), bias[3]).reshape([b, l, d]);
        return { q, k, v, p, a, out };
      };
      if (!CompressedLayer.isTraining(kwargs)) return forward().out;
      return compressedOp([x, ...w.flatMap((k, i) => [k, bias[i]])], (save) => {
        const f = forward();
        const bits = this.actBits;
        const parts: Saved<tf.Tensor>[] = [
          saveQuantized(x, bits, this.perSample),
          saveQuantized(f.q, bits, this.perSample),
          saveQuantized(f.k, bits, this.perSample),
          saveQuantized(f.v, bits, this.perSample),
          saveQuantized(f.p, bits, this.perSample),
          saveQuantized(f.a.reshape([b, l, d]), bits, this.perSample),
        ];
        save(saveList(parts));
        this.lastSavedBytes = savedBytes(parts);
        this.lastExactBytes = 4 * (5 * x.size + f.p.size);
        return {
          value: f.out,
          gradFunc: (dy, saved) => {
            const [xs, qs, ks, vs, ps, as] = splitSaved(saved, parts).map((s, i) =>
              parts[i].restore(s),
            );
            const dOut = dy.reshape([b * l, d]) as tf.Tensor2D;
            const a2 = as.reshape([b * l, d]) as tf.Tensor2D;
            const dWo = tf.matMul(a2, dOut, true);
            const dbo = tf.sum(dOut, 0);
            const da = heads(tf.matMul(dOut, w[3], false, true));
            const dp = tf.matMul(da, vs, false, true);
            const dv = tf.matMul(ps, da, true);
            // Softmax backward; the centring term divides by the row sum of the restored p so
            // each row of ds sums to 0 exactly, as with exact p (else the key bias drifts).
            const centre = tf.div(tf.sum(tf.mul(dp, ps), -1, true), tf.sum(ps, -1, true));
            const ds = tf.mul(tf.mul(ps, tf.sub(dp, centre)), 1 / Math.sqrt(dh));
            const dq = tf.matMul(ds, ks);
            const dk = tf.matMul(ds, qs, true);
            const flat = xs.reshape([b * l, d]) as tf.Tensor2D;
            const grads: tf.Tensor[] = [];
            let dx: tf.Tensor = tf.zeros([b * l, d]);
            [dq, dk, dv].forEach((g, i) => {
              const g2 = merge(g);
              grads.push(tf.matMul(flat, g2, true), tf.sum(g2, 0));
              dx = tf.add(dx, tf.matMul(g2, w[i], false, true));
            });
            grads.push(dWo, dbo);
            return [dx.reshape([b, l, d]), ...grads];
          },
        };
      });
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      numHeads: this.numHeads,
      causal: this.causal,
      seed: this.seed ?? null,
    };
  }
}
tf.serialization.registerClass(CompressedMultiHeadSelfAttention);
