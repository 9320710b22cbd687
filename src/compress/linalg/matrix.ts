/** Dense row-major float64 matrix: element (i, j) lives at data[i * cols + j]. */
export interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function zeros(rows: number, cols: number): Mat {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

export function identity(n: number): Mat {
  const m = zeros(n, n);
  for (let i = 0; i < n; i++) m.data[i * n + i] = 1;
  return m;
}

/** Wraps (or copies from) any numeric array; throws if the length does not match. */
export function fromArray(rows: number, cols: number, values: ArrayLike<number>): Mat {
  if (values.length !== rows * cols) {
    throw new Error(`matrix ${rows}x${cols} needs ${rows * cols} values, got ${values.length}`);
  }
  return { rows, cols, data: Float64Array.from(values) };
}

export function copy(a: Mat): Mat {
  return { rows: a.rows, cols: a.cols, data: a.data.slice() };
}

export function transpose(a: Mat): Mat {
  const t = zeros(a.cols, a.rows);
  const { rows, cols, data } = a;
  for (let i = 0; i < rows; i++) {
    const off = i * cols;
    for (let j = 0; j < cols; j++) t.data[j * rows + i] = data[off + j];
  }
  return t;
}

/** C = A B. */
export function matmul(a: Mat, b: Mat): Mat {
  if (a.cols !== b.rows) {
    throw new Error(`matmul: inner sizes differ (${a.rows}x${a.cols} times ${b.rows}x${b.cols})`);
  }
  const c = zeros(a.rows, b.cols);
  const n = b.cols;
  const ad = a.data;
  const bd = b.data;
  const cd = c.data;
  for (let i = 0; i < a.rows; i++) {
    const ci = i * n;
    for (let k = 0; k < a.cols; k++) {
      const aik = ad[i * a.cols + k];
      if (aik === 0) continue;
      const bk = k * n;
      for (let j = 0; j < n; j++) cd[ci + j] += aik * bd[bk + j];
    }
  }
  return c;
}

/** C = A^T B without forming A^T. */
export function matmulTA(a: Mat, b: Mat): Mat {
  if (a.rows !== b.rows) {
    throw new Error(`matmulTA: row counts differ (${a.rows}x${a.cols} and ${b.rows}x${b.cols})`);
  }
  const c = zeros(a.cols, b.cols);
  const n = b.cols;
  for (let k = 0; k < a.rows; k++) {
    const ak = k * a.cols;
    const bk = k * n;
    for (let i = 0; i < a.cols; i++) {
      const aki = a.data[ak + i];
      if (aki === 0) continue;
      const ci = i * n;
      for (let j = 0; j < n; j++) c.data[ci + j] += aki * b.data[bk + j];
    }
  }
  return c;
}

/** C = A B^T without forming B^T (dot products of rows). */
export function matmulTB(a: Mat, b: Mat): Mat {
  if (a.cols !== b.cols) {
    throw new Error(`matmulTB: column counts differ (${a.rows}x${a.cols} and ${b.rows}x${b.cols})`);
  }
  const c = zeros(a.rows, b.rows);
  const k = a.cols;
  for (let i = 0; i < a.rows; i++) {
    const ai = i * k;
    for (let j = 0; j < b.rows; j++) {
      const bj = j * k;
      let s = 0;
      for (let t = 0; t < k; t++) s += a.data[ai + t] * b.data[bj + t];
      c.data[i * b.rows + j] = s;
    }
  }
  return c;
}

/** Gram matrix A^T A (symmetric, cols x cols). */
export function gram(a: Mat): Mat {
  return matmulTA(a, a);
}

export function frobeniusNorm(a: Mat): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i] * a.data[i];
  return Math.sqrt(s);
}

/** A - B. */
export function subtract(a: Mat, b: Mat): Mat {
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new Error(`subtract: shapes differ (${a.rows}x${a.cols} vs ${b.rows}x${b.cols})`);
  }
  const c = zeros(a.rows, a.cols);
  for (let i = 0; i < a.data.length; i++) c.data[i] = a.data[i] - b.data[i];
  return c;
}

/** Columns [start, start + count) of a. */
export function columns(a: Mat, start: number, count: number): Mat {
  const c = zeros(a.rows, count);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < count; j++) c.data[i * count + j] = a.data[i * a.cols + start + j];
  }
  return c;
}

/** Multiplies column j of a by s[j], in place. */
export function scaleColumns(a: Mat, s: ArrayLike<number>): Mat {
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < a.cols; j++) a.data[i * a.cols + j] *= s[j];
  }
  return a;
}

/** Throws if any entry is NaN or infinite, naming what was checked. */
export function assertFinite(a: Mat | Float64Array | Float32Array, what: string): void {
  const d = 'data' in a ? a.data : a;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i]))
      throw new Error(`${what} contains a non-finite value (${d[i]}) at index ${i}`);
  }
}
