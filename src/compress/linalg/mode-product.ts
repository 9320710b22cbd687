import { type Mat, matmulTA } from './matrix.js';
import { fold, type Tensor64, unfold } from './tensor.js';

/** X x_n M^T: replaces mode n (size I_n) by M.cols using M (I_n x J). */
export function modeProductT(t: Tensor64, mode: number, m: Mat): Tensor64 {
  if (m.rows !== t.shape[mode]) {
    throw new Error(
      `modeProductT: mode ${mode} has size ${t.shape[mode]} but M has ${m.rows} rows`,
    );
  }
  const shape = [...t.shape];
  shape[mode] = m.cols;
  return fold(matmulTA(m, unfold(t, mode)), mode, shape);
}
