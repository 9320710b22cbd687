import { type Mat, transpose } from '../linalg/matrix.js';
import { modeProductT } from '../linalg/mode-product.js';
import { svd } from '../linalg/svd.js';
import { type Tensor64, tensorNorm, unfold } from '../linalg/tensor.js';

/** Tucker-2 of a conv kernel [kh, kw, cin, cout]: K = core x_2 U_in x_3 U_out. */
export interface Tucker2 {
  /** [kh, kw, r1, r2]. */
  core: Tensor64;
  /** cin x r1, orthonormal columns. */
  uIn: Mat;
  /** cout x r2, orthonormal columns. */
  uOut: Mat;
  relativeError: number;
}

export interface Tucker2Options {
  /** HOOI sweeps after the HOSVD start (default 5). */
  hooiIters?: number;
}

function leading(t: Tensor64, mode: number, rank: number): Mat {
  return svd(unfold(t, mode), { rank }).u;
}

/**
 * Tucker-2 over the channel modes of a conv kernel: HOSVD start (leading left singular
 * vectors of the mode-cin and mode-cout unfoldings), then HOOI sweeps, each solving one
 * factor exactly with the other fixed. The error never increases across sweeps.
 */
export function tucker2(
  kernel: Tensor64,
  r1: number,
  r2: number,
  options: Tucker2Options = {},
): Tucker2 {
  if (kernel.shape.length !== 4) {
    throw new Error(`tucker2 needs a conv kernel [kh, kw, cin, cout], got [${kernel.shape}]`);
  }
  const [, , cin, cout] = kernel.shape;
  for (const [name, r, max] of [
    ['r1', r1, cin],
    ['r2', r2, cout],
  ] as const) {
    if (!Number.isInteger(r) || r < 1 || r > max) {
      throw new Error(`tucker2: ${name} must be an integer in [1, ${max}], got ${r}`);
    }
  }
  let uIn = leading(kernel, 2, r1);
  let uOut = leading(kernel, 3, r2);
  for (let it = 0; it < (options.hooiIters ?? 5); it++) {
    uIn = leading(modeProductT(kernel, 3, uOut), 2, r1);
    uOut = leading(modeProductT(kernel, 2, uIn), 3, r2);
  }
  const core = modeProductT(modeProductT(kernel, 2, uIn), 3, uOut);
  const xn = tensorNorm(kernel);
  // Orthonormal factors: ||K - K_hat||^2 = ||K||^2 - ||core||^2.
  const err2 = Math.max(xn * xn - tensorNorm(core) ** 2, 0);
  return { core, uIn, uOut, relativeError: xn > 0 ? Math.sqrt(err2) / xn : 0 };
}

export function tucker2Reconstruct(t: Tucker2): Tensor64 {
  return modeProductT(modeProductT(t.core, 2, transpose(t.uIn)), 3, transpose(t.uOut));
}
