// CELU as one kernel (forward) plus one kernel (backward) on the cpu and wasm backends: a single
// loop over the tensor each way instead of the six elementwise ops of the composite formula and
// their gradients (in bench:recipes the composite made a ResNet step ~1.6x slower than ReLU).
// The gradient reads only the output: d celu / dx = 1 where y > 0, else exp(x/a) = y/a + 1.
// Other backends (webgl, webgpu) get the composite a * elu(x / a), also exact.
import * as tf from '@tensorflow/tfjs';
import { hostArrays } from '../kernels/host-arrays.js';

export const CELU_KERNEL = 'FrugalCelu';
export const CELU_GRAD_KERNEL = 'FrugalCeluGrad';
const BACKENDS = ['cpu', 'wasm'] as const;

function celuForward(x: Float32Array, y: Float32Array, alpha: number): void {
  const inv = 1 / alpha;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    y[i] = v > 0 ? v : alpha * (Math.exp(v * inv) - 1);
  }
}

function celuBackward(dy: Float32Array, y: Float32Array, dx: Float32Array, alpha: number): void {
  const inv = 1 / alpha;
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    dx[i] = v > 0 ? dy[i] : dy[i] * (v * inv + 1);
  }
}

/** Registers the CELU kernels and gradient (idempotent; called by `celu`). */
export function registerCeluKernels(): void {
  // tfjs's registry is the record: no module state here.
  if (tf.getGradient(CELU_KERNEL) !== undefined) return;
  for (const backendName of BACKENDS) {
    tf.registerKernel({
      kernelName: CELU_KERNEL,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const x = inputs.x as tf.TensorInfo;
        const h = hostArrays(backendName, backend);
        // Allocate before taking views (a wasm heap growth detaches older views).
        const out = h.output(x.shape);
        celuForward(h.view(x), h.view(out), (attrs as { alpha: number }).alpha);
        return out;
      },
    });
    tf.registerKernel({
      kernelName: CELU_GRAD_KERNEL,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const dy = inputs.dy as tf.TensorInfo;
        const y = inputs.y as tf.TensorInfo;
        const h = hostArrays(backendName, backend);
        const out = h.output(y.shape);
        celuBackward(h.view(dy), h.view(y), h.view(out), (attrs as { alpha: number }).alpha);
        return out;
      },
    });
  }
  tf.registerGradient({
    kernelName: CELU_KERNEL,
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [y] = saved;
      return {
        x: () =>
          tf.engine().runKernel(CELU_GRAD_KERNEL, { dy: dy as tf.Tensor, y }, attrs) as tf.Tensor,
      };
    },
  });
}

/** True when the active backend runs CELU as one kernel each way. */
export function celuKernelActive(): boolean {
  registerCeluKernels();
  return tf.getKernel(CELU_KERNEL, tf.getBackend()) !== undefined;
}

/** celu(x) through the kernels (float32 input, cpu or wasm backend). */
export function celuKernel(x: tf.Tensor, alpha: number): tf.Tensor {
  registerCeluKernels();
  if (x.dtype !== 'float32') throw new Error(`celu: expects a float32 tensor, got ${x.dtype}`);
  return tf.engine().runKernel(CELU_KERNEL, { x }, { alpha }) as tf.Tensor;
}
