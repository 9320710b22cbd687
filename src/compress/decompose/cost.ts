import type { ConvInfo, DenseInfo } from './layer-info.js';

/** Parameters and multiply-adds per sample of a layer, before or after decomposition. */
export interface LayerCost {
  params: number;
  /** Multiply-adds per sample; null when spatial sizes are unknown. */
  flops: number | null;
}

const biasOf = (b: Float32Array | null) => (b ? b.length : 0);

export function denseCost(d: DenseInfo): LayerCost {
  return { params: d.inDim * d.units + biasOf(d.bias), flops: d.inDim * d.units };
}

export function svdCost(d: DenseInfo, rank: number): LayerCost {
  return { params: rank * (d.inDim + d.units) + biasOf(d.bias), flops: rank * (d.inDim + d.units) };
}

/** TT-matrix layer; `rank` is one internal rank for all positions or the list r_1..r_{d-1}. */
export function ttmCost(
  d: DenseInfo,
  inFactors: number[],
  outFactors: number[],
  rank: number | number[],
): LayerCost {
  const inner =
    typeof rank === 'number' ? new Array<number>(inFactors.length - 1).fill(rank) : rank;
  const r = [1, ...inner, 1];
  let params = 0;
  let flops = 0;
  // Contraction k multiplies [B N_<k M_>k, r m_k] by [r m_k, n_k r'].
  let nDone = 1;
  let mRest = inFactors.reduce((a, b) => a * b, 1);
  inFactors.forEach((m, k) => {
    const n = outFactors[k];
    params += r[k] * m * n * r[k + 1];
    mRest /= m;
    flops += nDone * mRest * r[k] * m * n * r[k + 1];
    nDone *= n;
  });
  return { params: params + biasOf(d.bias), flops };
}

function area(s: [number, number] | null): number | null {
  return s ? s[0] * s[1] : null;
}

export function convCost(c: ConvInfo): LayerCost {
  const out = area(c.outSize);
  return {
    params: c.kh * c.kw * c.cin * c.cout + biasOf(c.bias),
    flops: out === null ? null : out * c.kh * c.kw * c.cin * c.cout,
  };
}

export function tucker2Cost(c: ConvInfo, r1: number, r2: number): LayerCost {
  const inA = area(c.inSize);
  const out = area(c.outSize);
  return {
    params: c.cin * r1 + c.kh * c.kw * r1 * r2 + r2 * c.cout + biasOf(c.bias),
    flops:
      inA === null || out === null
        ? null
        : inA * c.cin * r1 + out * (c.kh * c.kw * r1 * r2 + r2 * c.cout),
  };
}

export function cpCost(c: ConvInfo, rank: number): LayerCost {
  const inA = area(c.inSize);
  const out = area(c.outSize);
  // The kh x 1 depthwise runs on (out h) x (in w) positions, the 1 x kw one on the output.
  const mid = c.inSize && c.outSize ? c.outSize[0] * c.inSize[1] : null;
  return {
    params: rank * (c.cin + c.kh + c.kw + c.cout) + biasOf(c.bias),
    flops:
      inA === null || out === null || mid === null
        ? null
        : inA * c.cin * rank + mid * c.kh * rank + out * (c.kw * rank + rank * c.cout),
  };
}
