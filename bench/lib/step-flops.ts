import type * as tf from '@tensorflow/tfjs';

const size = (shape: number[]) => shape.reduce((p, q) => p * q, 1);

/** 2 x the multiply-adds of a conv whose output (or output gradient) is `y`, filter `filter`. */
const convFlops = (y: number[], filter: number[]) => 2 * size(y) * (size(filter) / filter[3]);

/**
 * Multiply-add FLOPs (2 per MAC) of one kernel call from the shapes tf.profile records; 0 for
 * kernels that are not convolutions or matmuls (elementwise work is not counted).
 */
export function kernelFlops(name: string, inputs: number[][], outputs: number[][]): number {
  const out = outputs[0];
  if (!out) return 0;
  switch (name) {
    // The forward conv and both of its gradients cost the same multiply-adds: one filter's taps
    // (its size over its output channels) at every element of the conv output (y, or dy).
    case 'Conv2D':
    case 'FusedConv2D':
      return convFlops(out, inputs[1]);
    case 'Conv2DBackpropInput':
    case 'FrugalConv2DBackpropInput':
      return convFlops(inputs[0], inputs[1]);
    case 'Conv2DBackpropFilter':
    case 'FrugalConv2DBackpropFilter':
      return convFlops(inputs[1], out);
    case 'BatchMatMul':
    case '_FusedMatMul': {
      const [a, b] = inputs;
      const batch = size(out.slice(0, -2));
      const inner = Math.sqrt((size(a) * size(b)) / (size(out) * batch));
      return 2 * size(out) * inner;
    }
    default:
      return 0;
  }
}

/** Conv and matmul FLOPs of everything `f` runs, counted from a tf.profile trace. */
export async function profiledFlops(
  tfjs: typeof tf,
  f: () => void,
): Promise<{ flops: number; byKernel: Record<string, number> }> {
  const info = await tfjs.profile(f);
  const byKernel: Record<string, number> = {};
  let flops = 0;
  for (const k of info.kernels) {
    const n = kernelFlops(k.name, k.inputShapes as number[][], k.outputShapes as number[][]);
    if (n === 0) continue;
    byKernel[k.name] = (byKernel[k.name] ?? 0) + n;
    flops += n;
  }
  return { flops, byKernel };
}
