import * as tf from '@tensorflow/tfjs';
import { padBefore } from '../backward/conv-grad.js';
import { compressedOp } from '../backward/custom-grad.js';
import { bitsForCodes } from '../codec/bits.js';
import { scratch, tensorFromJs } from '../codec/js-memory.js';
import { codesSavedAs, saveCodesOf } from '../codec/saved.js';
import {
  type PoolGeometry,
  poolArgmaxWasm,
  poolScatterWasm,
  stateKernels,
} from '../codec/state-wasm.js';
import { CompressedLayer, single } from './compressed-layer.js';
import { CompressedPoolLayer, type CompressedPoolLayerArgs } from './compressed-pool-layer.js';

export type CompressedMaxPoolArgs = CompressedPoolLayerArgs;

/**
 * 2-D max pooling (NHWC) whose backward keeps, for each output, the offset of its maximum inside
 * the window (2 bits for 2x2 windows), packed: exact gradients, no activation saved.
 */
export class CompressedMaxPool2D extends CompressedPoolLayer {
  static className = 'FrugalCompressedMaxPool2D';

  constructor(args: CompressedMaxPoolArgs) {
    super(args);
    if (this.poolSize[0] * this.poolSize[1] > 256)
      throw new Error(`${this.name}: pool windows above 256 values are not supported`);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs) as tf.Tensor4D;
      const pool = () => tf.maxPool(x, this.poolSize, this.strides, this.padding);
      if (!CompressedLayer.isTraining(kwargs)) return pool();
      return compressedOp([x], (save) => {
        const y = pool();
        const index = this.outputToInput(x.shape);
        const bits = bitsForCodes(this.poolSize[0] * this.poolSize[1]);
        const geometry = this.geometry(x.shape);
        // With a wasm codec, the argmax codes are found and packed in wasm (the same words).
        const k = x.dtype === 'float32' ? stateKernels() : null;
        const saved = k
          ? codesSavedAs(poolArgmaxWasm(k, x, geometry, bits), bits, y.size)
          : saveCodesOf(
              x,
              bits,
              (v, codes, rows) => this.argmax([rows, ...x.shape.slice(1)], v, codes),
              y.size,
            );
        save(saved.tensors);
        this.lastSavedBytes = saved.tensors[0].size * 4;
        this.lastExactBytes = 4 * (x.size + y.size);
        return {
          value: y,
          // dx = dy scattered to each window's argmax: only dy, one int32 index per output and dx
          // exist (no JS copy of dy, and dx is not built in JS and then copied).
          gradFunc: (dy, s) => {
            const kb = dy.dtype === 'float32' ? stateKernels() : null;
            if (kb) return [poolScatterWasm(kb, s[0], dy, x.shape, geometry, bits)];
            const indices = scratch(y.size, () => {
              const k = saved.restore(s);
              const at = new Int32Array(k.length);
              for (let i = 0; i < k.length; i++) at[i] = index(i, k[i]);
              return tensorFromJs(at, [k.length, 1], 'int32');
            });
            const dx = tf.scatterND(indices, dy.reshape([y.size]), [x.size]).reshape(x.shape);
            indices.dispose();
            return [dx];
          },
        };
      });
    });
  }

  /** The pooling geometry over an input of `shape` (NHWC) for the wasm kernels. */
  private geometry(shape: number[]): PoolGeometry {
    const [, h, w, c] = shape;
    const rows = padBefore(h, this.poolSize[0], this.strides[0], this.padding);
    const cols = padBefore(w, this.poolSize[1], this.strides[1], this.padding);
    const [ph, pw] = this.poolSize;
    const [sh, sw] = this.strides;
    return {
      h,
      w,
      c,
      ph,
      pw,
      sh,
      sw,
      outH: rows.out,
      outW: cols.out,
      top: rows.before,
      left: cols.before,
    };
  }

  /** Writes the window offset of each output's maximum into `codes`. */
  private argmax(shape: number[], v: tf.TypedArray, codes: Uint8Array): void {
    const [n, h, w, c] = shape;
    const [ph, pw] = this.poolSize;
    const [sh, sw] = this.strides;
    const rows = padBefore(h, ph, sh, this.padding);
    const cols = padBefore(w, pw, sw, this.padding);
    let o = 0;
    for (let b = 0; b < n; b++)
      for (let r = 0; r < rows.out; r++)
        for (let q = 0; q < cols.out; q++)
          for (let ch = 0; ch < c; ch++, o++) {
            let best = Number.NEGATIVE_INFINITY;
            let at = 0;
            for (let i = 0; i < ph; i++) {
              const y = r * sh - rows.before + i;
              if (y < 0 || y >= h) continue;
              for (let j = 0; j < pw; j++) {
                const xx = q * sw - cols.before + j;
                if (xx < 0 || xx >= w) continue;
                const val = v[((b * h + y) * w + xx) * c + ch];
                if (val > best) {
                  best = val;
                  at = i * pw + j;
                }
              }
            }
            codes[o] = at;
          }
  }

  /** Maps (output index, window offset) to the input index. */
  private outputToInput(shape: number[]): (out: number, code: number) => number {
    const [, h, w, c] = shape;
    const [ph, pw] = this.poolSize;
    const [sh, sw] = this.strides;
    const rows = padBefore(h, ph, sh, this.padding);
    const cols = padBefore(w, pw, sw, this.padding);
    return (out: number, code: number) => {
      const ch = out % c;
      const q = Math.floor(out / c) % cols.out;
      const r = Math.floor(out / (c * cols.out)) % rows.out;
      const b = Math.floor(out / (c * cols.out * rows.out));
      const y = r * sh - rows.before + Math.floor(code / pw);
      const xx = q * sw - cols.before + (code % pw);
      return ((b * h + y) * w + xx) * c + ch;
    };
  }
}
tf.serialization.registerClass(CompressedMaxPool2D);
