import * as tf from '@tensorflow/tfjs';
import { compressedOp } from '../backward/custom-grad.js';
import {
  restoreChunk,
  type Saved,
  savedBytes,
  saveList,
  saveQuantized,
  splitSaved,
} from '../codec/saved.js';
import { attentionGrads } from './attention-grad.js';
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
        // Each step in its own tidy: only q, k, v, p, a and the output outlive it.
        const flat = x.reshape([b * l, d]) as tf.Tensor2D;
        const proj = (i: number) => tf.tidy(() => heads(tf.add(tf.matMul(flat, w[i]), bias[i])));
        const q = proj(0);
        const k = proj(1);
        const v = proj(2);
        const p = tf.tidy(() => {
          const s = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh));
          return tf.softmax(mask ? tf.add(s, mask) : s);
        });
        const a = tf.tidy(() => merge(tf.matMul(p, v)).reshape([b, l, d]));
        const out = tf.tidy(() =>
          tf.add(tf.matMul(a.reshape([b * l, d]) as tf.Tensor2D, w[3]), bias[3]).reshape([b, l, d]),
        );
        return { q, k, v, p, a, out };
      };
      if (!CompressedLayer.isTraining(kwargs)) return forward().out;
      return compressedOp([x, ...w.flatMap((k, i) => [k, bias[i]])], (save) => {
        const f = forward();
        const bits = this.actBits;
        const names = ['x', 'q', 'k', 'v', 'p', 'a'] as const;
        const parts: Saved<tf.Tensor>[] = [x, f.q, f.k, f.v, f.p, f.a].map((t) =>
          saveQuantized(t, bits, this.perSample),
        );
        save(saveList(parts));
        this.lastSavedBytes = savedBytes(parts);
        this.lastExactBytes = 4 * (5 * x.size + f.p.size);
        // Once quantized, the full-precision values can go (at 32 bits save keeps them).
        const kept = new Set(saveList(parts));
        tf.dispose([f.q, f.k, f.v, f.p, f.a].filter((t) => !kept.has(t)));
        return {
          value: f.out,
          gradFunc: (dy, saved, freeDy) => {
            const split = splitSaved(saved, parts);
            return attentionGrads(
              dy,
              {
                rows: (name, first, count) => {
                  const i = names.indexOf(name);
                  return restoreChunk(parts[i], split[i], first, count, b);
                },
              },
              w,
              h,
              freeDy,
            );
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
