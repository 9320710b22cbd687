import { svd } from '../linalg/svd.js';
import { permute, sizeOf, type Tensor64 } from '../linalg/tensor.js';

/** Tensor-train cores, core k of shape [r_{k-1}, p_k, r_k] with r_0 = r_d = 1. */
export interface TensorTrain {
  cores: Tensor64[];
}

/**
 * TT-SVD (Oseledets 2011): sequential truncated SVDs of the reshaped remainder. With ranks at
 * least the exact TT ranks the reconstruction is exact; otherwise the error is at most
 * sqrt(sum of the discarded sigma^2 of every step).
 */
export function ttSvd(t: Tensor64, maxRanks: number[]): TensorTrain {
  const d = t.shape.length;
  if (maxRanks.length !== d - 1) {
    throw new Error(`ttSvd: a tensor of order ${d} needs ${d - 1} ranks, got ${maxRanks.length}`);
  }
  maxRanks.forEach((r, i) => {
    if (!Number.isInteger(r) || r < 1)
      throw new Error(`ttSvd: rank ${i} must be a positive integer, got ${r}`);
  });
  const cores: Tensor64[] = [];
  let rest = t.data;
  let rPrev = 1;
  for (let k = 0; k < d - 1; k++) {
    const rows = rPrev * t.shape[k];
    const cols = rest.length / rows;
    const rank = Math.min(maxRanks[k], rows, cols);
    const f = svd({ rows, cols, data: rest }, { rank });
    cores.push({ shape: [rPrev, t.shape[k], rank], data: f.u.data.slice() });
    // Remainder = diag(s) V^T (rank x cols).
    const next = new Float64Array(rank * cols);
    for (let i = 0; i < rank; i++) {
      for (let j = 0; j < cols; j++) next[i * cols + j] = f.s[i] * f.v.data[j * rank + i];
    }
    rest = next;
    rPrev = rank;
  }
  cores.push({ shape: [rPrev, t.shape[d - 1], 1], data: rest });
  return { cores };
}

/** Dense tensor of a tensor train. */
export function ttReconstruct(tt: TensorTrain): Tensor64 {
  let acc = tt.cores[0].data.slice();
  let rows = tt.cores[0].shape[1];
  let r = tt.cores[0].shape[2];
  for (let k = 1; k < tt.cores.length; k++) {
    const [r0, p, r1] = tt.cores[k].shape;
    if (r0 !== r) throw new Error(`ttReconstruct: rank mismatch at core ${k}`);
    const next = new Float64Array(rows * p * r1);
    const c = tt.cores[k].data;
    for (let i = 0; i < rows; i++) {
      for (let a = 0; a < r; a++) {
        const v = acc[i * r + a];
        if (v === 0) continue;
        for (let j = 0; j < p * r1; j++) next[i * p * r1 + j] += v * c[a * p * r1 + j];
      }
    }
    acc = next;
    rows *= p;
    r = r1;
  }
  return { shape: tt.cores.map((c) => c.shape[1]), data: acc };
}

/**
 * TT-matrix cores [r_{k-1}, m_k, n_k, r_k] of a weight W [prod m, prod n] (row index over
 * (i_1..i_d), column index over (j_1..j_d), first factor slowest).
 */
export function ttMatrixFromDense(
  w: Float64Array,
  inFactors: number[],
  outFactors: number[],
  rank: number,
): Tensor64[] {
  const d = inFactors.length;
  if (outFactors.length !== d) {
    throw new Error(
      `TTM needs as many input factors as output factors (${d} vs ${outFactors.length})`,
    );
  }
  if (w.length !== sizeOf(inFactors) * sizeOf(outFactors)) {
    throw new Error(
      `TTM: weight has ${w.length} values, factors need ${sizeOf(inFactors) * sizeOf(outFactors)}`,
    );
  }
  const perm: number[] = [];
  for (let k = 0; k < d; k++) perm.push(k, d + k);
  const interleaved = permute({ shape: [...inFactors, ...outFactors], data: w }, perm);
  const merged = { shape: inFactors.map((m, k) => m * outFactors[k]), data: interleaved.data };
  const tt = ttSvd(merged, new Array(d - 1).fill(rank));
  return tt.cores.map((c, k) => ({
    shape: [c.shape[0], inFactors[k], outFactors[k], c.shape[2]],
    data: c.data,
  }));
}

/** Dense W [prod m, prod n] from TT-matrix cores [r, m, n, r]. */
export function ttMatrixToDense(cores: Tensor64[]): Float64Array {
  const d = cores.length;
  const merged = ttReconstruct({
    cores: cores.map((c) => ({
      shape: [c.shape[0], c.shape[1] * c.shape[2], c.shape[3]],
      data: c.data,
    })),
  });
  const shape: number[] = [];
  for (const c of cores) shape.push(c.shape[1], c.shape[2]);
  const perm: number[] = [];
  for (let k = 0; k < d; k++) perm.push(2 * k);
  for (let k = 0; k < d; k++) perm.push(2 * k + 1);
  return permute({ shape, data: merged.data }, perm).data;
}
