// One pass of Adam over one variable, as a tfjs kernel for the cpu and wasm backends: reads the
// value, both moments and the gradient once, writes the three new buffers once. FrugalAdam
// (frugal-adam.ts) runs it instead of its eleven elementwise operations where it is registered.
import * as tf from '@tensorflow/tfjs';
import { hostArrays } from '../kernels/host-arrays.js';
import { tfjsHeapKernels } from '../wasm/tfjs-heap.js';

export const ADAM_UPDATE_KERNEL = 'FrugalAdamUpdate';

/** Float32 scalars of the update, as FrugalAdam's operations see them. */
export interface AdamUpdateAttrs {
  beta1: number;
  beta2: number;
  /** 1 - beta1 and 1 - beta2. */
  oneMinusBeta1: number;
  oneMinusBeta2: number;
  /** 1 - beta1^t and 1 - beta2^t (the bias corrections, as float32 tensors hold them). */
  oneMinusAccBeta1: number;
  oneMinusAccBeta2: number;
  epsilon: number;
  learningRate: number;
}

const f = Math.fround;

/**
 * new m, v and value of one variable, every operation rounded to float32 in FrugalAdam's order
 * (so the results equal its elementwise kernels' bit for bit, float32 +, *, / and sqrt being
 * correctly rounded everywhere):
 *
 *   m' = m b1 + g (1 - b1);  v' = v b2 + g^2 (1 - b2);
 *   w' = (m' / c1) / (sqrt(v' / c2) + eps) * (-lr) + w
 */
export function adamUpdateArrays(
  w: Float32Array,
  m: Float32Array,
  v: Float32Array,
  g: Float32Array,
  outW: Float32Array,
  outM: Float32Array,
  outV: Float32Array,
  a: AdamUpdateAttrs,
): void {
  const b1 = f(a.beta1);
  const b2 = f(a.beta2);
  const k1 = f(a.oneMinusBeta1);
  const k2 = f(a.oneMinusBeta2);
  const c1 = f(a.oneMinusAccBeta1);
  const c2 = f(a.oneMinusAccBeta2);
  const eps = f(a.epsilon);
  const negLr = f(-a.learningRate);
  const n = w.length;
  for (let i = 0; i < n; i++) {
    const gi = g[i];
    const mi = f(f(m[i] * b1) + f(gi * k1));
    const vi = f(f(v[i] * b2) + f(f(gi * gi) * k2));
    outM[i] = mi;
    outV[i] = vi;
    const d = f(f(Math.sqrt(f(vi / c2))) + eps);
    outW[i] = f(f(f(f(mi / c1) / d) * negLr) + w[i]);
  }
}

function adamKernel(backendName: 'cpu' | 'wasm'): tf.KernelConfig {
  return {
    kernelName: ADAM_UPDATE_KERNEL,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { value, m, v, g } = inputs as Record<'value' | 'm' | 'v' | 'g', tf.TensorInfo>;
      for (const [k, t] of Object.entries({ m, v, g })) {
        if (!tf.util.arraysEqual(t.shape, value.shape)) {
          throw new Error(
            `${ADAM_UPDATE_KERNEL}: ${k} has shape [${t.shape}], the variable [${value.shape}]`,
          );
        }
      }
      const host = hostArrays(backendName, backend);
      // Outputs first: an allocation can grow the wasm heap and detach earlier views.
      const outs = [host.output(value.shape), host.output(value.shape), host.output(value.shape)];
      const simd = backendName === 'wasm' ? tfjsHeapKernels(backend) : null;
      if (simd) {
        // WebAssembly SIMD on tfjs's heap: the same float32 operations, about 8x faster.
        const [w, mm, vv, gg, ow, om, ov] = [value, m, v, g, ...outs].map(
          (t) => host.view(t).byteOffset,
        );
        const a = attrs as unknown as AdamUpdateAttrs;
        simd.adamUpdate(
          w,
          mm,
          vv,
          gg,
          ow,
          om,
          ov,
          tf.util.sizeFromShape(value.shape),
          a.beta1,
          a.beta2,
          a.oneMinusBeta1,
          a.oneMinusBeta2,
          a.oneMinusAccBeta1,
          a.oneMinusAccBeta2,
          a.epsilon,
          -a.learningRate,
        );
        return outs;
      }
      const [ow, om, ov] = outs.map((o) => host.view(o));
      adamUpdateArrays(
        host.view(value),
        host.view(m),
        host.view(v),
        host.view(g),
        ow,
        om,
        ov,
        attrs as unknown as AdamUpdateAttrs,
      );
      return outs;
    },
  };
}

/** Registers the kernel for cpu and wasm (idempotent). */
export function registerAdamKernel(): void {
  for (const name of ['cpu', 'wasm'] as const) {
    if (!tf.getKernel(ADAM_UPDATE_KERNEL, name)) tf.registerKernel(adamKernel(name));
  }
}

/** Whether the active backend runs the one-pass update. */
export function adamKernelAvailable(): boolean {
  return tf.getKernel(ADAM_UPDATE_KERNEL, tf.getBackend()) !== undefined;
}
