import type * as tf from '@tensorflow/tfjs';
import { type PoolGradAttrs, poolGradArrays } from './pool-grad-info.js';

/** Attributes of MaxPoolGrad / AvgPoolGrad (kept under this name for existing imports). */
export type MaxPoolGradAttrs = PoolGradAttrs;

/**
 * Gradient of an NHWC MaxPool as one pass of plain loops (channels innermost, contiguous):
 * each window sends dy to its first maximum in scan order, as tfjs's cpu backend does.
 * Stock wasm runs this kernel about 10x slower.
 */
export function maxPoolGrad(
  backendName: string,
  backend: object,
  dy: tf.TensorInfo,
  input: tf.TensorInfo,
  attrs: MaxPoolGradAttrs,
): tf.TensorInfo {
  const arrays = poolGradArrays('MaxPoolGrad', backendName, backend, dy, input, attrs);
  const { info, out, dx, dy: g } = arrays;
  const { batchSize, inHeight, inWidth, inChannels: ch, outHeight, outWidth } = info;
  const x = arrays.host.view(input);
  const best = new Float32Array(ch);
  const where = new Int32Array(ch);
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
  const { top, left } = info.padInfo;
  let o = 0;
  for (let b = 0; b < batchSize; b++) {
    const xBatch = b * inHeight * inWidth * ch;
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = oh * sh - top;
      for (let ow = 0; ow < outWidth; ow++, o += ch) {
        const w0 = ow * sw - left;
        best.fill(Number.NEGATIVE_INFINITY);
        where.fill(-1);
        for (let kh = 0; kh < fh; kh += dh) {
          const h = h0 + kh;
          if (h < 0 || h >= inHeight) continue;
          for (let kw = 0; kw < fw; kw += dw) {
            const w = w0 + kw;
            if (w < 0 || w >= inWidth) continue;
            const base = xBatch + (h * inWidth + w) * ch;
            for (let c = 0; c < ch; c++) {
              const v = x[base + c];
              if (v > best[c]) {
                best[c] = v;
                where[c] = base + c;
              }
            }
          }
        }
        for (let c = 0; c < ch; c++) {
          if (where[c] >= 0) dx[where[c]] += g[o + c];
        }
      }
    }
  }
  return out;
}
