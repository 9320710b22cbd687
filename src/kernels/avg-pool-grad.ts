import type * as tf from '@tensorflow/tfjs';
import { type PoolGradAttrs, poolGradArrays, windowSpans } from './pool-grad-info.js';

/**
 * Gradient of an NHWC AvgPool as one pass of plain loops: each window spreads dy / n over its n
 * in-bounds inputs. That is the exact gradient of tfjs's AvgPool forward, which averages over the
 * in-bounds values only (n < fh * fw where 'same' or explicit padding cuts the window). Stock
 * tfjs's gradient (cpu and wasm) divides by fh * fw everywhere, so it is not the gradient of its
 * own forward at cut windows. Stock cpu runs this ~20-50x slower, stock wasm ~3x.
 */
export function avgPoolGrad(
  backendName: string,
  backend: object,
  dy: tf.TensorInfo,
  input: tf.TensorInfo,
  attrs: PoolGradAttrs,
): tf.TensorInfo {
  const arrays = poolGradArrays('AvgPoolGrad', backendName, backend, dy, input, attrs);
  const { info, out, dx, dy: g } = arrays;
  const { batchSize, inHeight, inWidth, inChannels: ch, outHeight, outWidth } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const rows = windowSpans(outHeight, sh, top, fh, inHeight);
  const cols = windowSpans(outWidth, sw, left, fw, inWidth);
  let o = 0;
  for (let b = 0; b < batchSize; b++) {
    const xBatch = b * inHeight * inWidth * ch;
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = rows[2 * oh];
      const h1 = rows[2 * oh + 1];
      for (let ow = 0; ow < outWidth; ow++, o += ch) {
        const w0 = cols[2 * ow];
        const w1 = cols[2 * ow + 1];
        const n = (h1 - h0) * (w1 - w0);
        // A window wholly in the padding averages nothing (the forward gives 0/0).
        if (n <= 0) continue;
        const scale = 1 / n;
        for (let h = h0; h < h1; h++) {
          for (let w = w0; w < w1; w++) {
            const base = xBatch + (h * inWidth + w) * ch;
            for (let c = 0; c < ch; c++) dx[base + c] += g[o + c] * scale;
          }
        }
      }
    }
  }
  return out;
}
