/**
 * A symmetric uniform quantisation grid: values scale * k for integer k in [-qmax, qmax],
 * qmax = 2^(bits-1) - 1 (2 bits: {-s, 0, s}; 8 bits: 255 levels). Codes fit in `bits` bits.
 */
export interface QuantGrid {
  bits: number;
  scale: number;
}

export function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 2 || bits > 8) {
    throw new Error(`bits must be an integer from 2 to 8, got ${bits}`);
  }
}

export function gridMax(bits: number): number {
  return 2 ** (bits - 1) - 1;
}

/** Integer code of x on the grid (round to nearest, clamp). */
export function quantCode(x: number, grid: QuantGrid): number {
  const q = gridMax(grid.bits);
  if (grid.scale === 0) return 0;
  const k = Math.round(x / grid.scale);
  return Math.min(q, Math.max(-q, k));
}

/** Projects every value onto the grid; returns a new array. */
export function quantizeValues(values: Float64Array, grid: QuantGrid): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = quantCode(values[i], grid) * grid.scale;
  return out;
}

/**
 * The grid scale minimising the squared quantisation error of `values`: a search over 200
 * clipping levels from 1% to 100% of max |x|.
 */
export function fitGrid(values: Float64Array, bits: number): QuantGrid {
  checkBits(bits);
  let maxAbs = 0;
  for (let i = 0; i < values.length; i++) maxAbs = Math.max(maxAbs, Math.abs(values[i]));
  if (maxAbs === 0) return { bits, scale: 0 };
  const q = gridMax(bits);
  let best: QuantGrid = { bits, scale: maxAbs / q };
  let bestErr = Number.POSITIVE_INFINITY;
  for (let step = 1; step <= 200; step++) {
    const grid = { bits, scale: (maxAbs * (step / 200)) / q };
    let err = 0;
    for (let i = 0; i < values.length; i++)
      err += (values[i] - quantCode(values[i], grid) * grid.scale) ** 2;
    if (err < bestErr) {
      bestErr = err;
      best = grid;
    }
  }
  return best;
}
