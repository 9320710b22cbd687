import * as tf from '@tensorflow/tfjs';
import {
  type AddWeight,
  AttentionProjections,
  causalMask,
  mergeHeads,
  splitHeads,
} from '../../models/layers/attention-parts.js';
import { configWith } from '../../models/layers/layer-config.js';
import { compressedOp } from '../backward/custom-grad.js';
import { restoreChunk, type Saved, saveList, splitSaved } from '../codec/saved.js';
import { attentionGrads } from './attention-grad.js';
import { CompressedLayer, type CompressedLayerArgs, single } from './compressed-layer.js';
import { positiveInteger } from './layer-args.js';

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
  private readonly projections = new AttentionProjections();

  constructor(args: CompressedAttentionArgs) {
    super(args);
    this.numHeads = positiveInteger(this.name, 'numHeads', args.numHeads);
    this.causal = args.causal ?? false;
    this.seed = args.seed ?? undefined;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const add: AddWeight = (n, shape, init) => this.addWeight(n, shape, 'float32', init);
    const h = this.numHeads;
    const heads = { numHeads: h, queryGroups: h, kvGroups: h };
    this.projections.build(add, this.name, inputShape, heads, this.seed);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs) as tf.Tensor3D;
      const [b, l, d] = x.shape;
      const h = this.numHeads;
      const dh = d / h;
      const { w, bias } = this.projections.read();
      const heads = (t: tf.Tensor) => splitHeads(t, b, l, h, dh);
      const mask = this.causal ? causalMask(l) : null;
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
        const a = tf.tidy(() => mergeHeads(tf.matMul(p, v), b, l).reshape([b, l, d]));
        const out = tf.tidy(() =>
          tf.add(tf.matMul(a.reshape([b * l, d]) as tf.Tensor2D, w[3]), bias[3]).reshape([b, l, d]),
        );
        return { q, k, v, p, a, out };
      };
      if (!CompressedLayer.isTraining(kwargs)) return forward().out;
      return compressedOp([x, ...w.flatMap((k, i) => [k, bias[i]])], (save) => {
        const f = forward();
        const names = ['x', 'q', 'k', 'v', 'p', 'a'] as const;
        const parts: Saved<tf.Tensor>[] = [x, f.q, f.k, f.v, f.p, f.a].map((t) =>
          this.saveInput(t),
        );
        this.recordSaved(save, parts, 4 * (5 * x.size + f.p.size));
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
    return configWith(super.getConfig(), this, ['numHeads', 'causal'], { seed: this.seed ?? null });
  }
}
tf.serialization.registerClass(CompressedMultiHeadSelfAttention);
