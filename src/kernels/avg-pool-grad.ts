import type * as tf from '@tensorflow/tfjs';
import { hostArrays } from './host-arrays.js';
import { type PoolGradAttrs, poolGradInfo } from './pool-grad-info.js';

/**
 * Gradient of an NHWC AvgPool as one pass of plain loops: each window spreads dy / (fh * fw)
 * over its in-bounds inputs. Like stock tfjs (cpu and wasm), the divisor is the full window size
 * even where 'same' padding cuts the window. Stock cpu runs this ~20-50x slower, stock wasm ~3x.
 */
export function avgPoolGrad(
  backendName: string,
  backend: object,
  dy: tf.TensorInfo,
  input: tf.TensorInfo,
  attrs: PoolGradAttrs,
): tf.TensorInfo {
  const info = poolGradInfo('AvgPoolGrad', dy, input, attrs);
  const { batchSize, inHeight, inWidth, inChannels: ch, outHeight, outWidth } = info;
  const host = hostArrays(backendName, backend);
  const out = host.output(input.shape);
  const dx = host.view(out);
  dx.fill(0);
  const g = host.view(dy);
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const scale = 1 / (fh * fw);
  let o = 0;
  for (let b = 0; b < batchSize; b++) {
    const xBatch = b * inHeight * inWidth * ch;
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++, o += ch) {
        for (let kh = 0; kh < fh; kh++) {
          const h = oh * sh - top + kh;
          if (h < 0 || h >= inHeight) continue;
          for (let kw = 0; kw < fw; kw++) {
            const w = ow * sw - left + kw;
            if (w < 0 || w >= inWidth) continue;
            const base = xBatch + (h * inWidth + w) * ch;
            for (let c = 0; c < ch; c++) dx[base + c] += g[o + c] * scale;
          }
        }
      }
    }
  }
  return out;
}
