import { type Rng, rngCounter } from '../../engine/random.js';
import { wasmKernels } from '../../wasm/module.js';
import { checkSampleRange, GROUP_SIZE, groupsPerSample, type QuantizedGroups } from './quantize.js';

// The WebAssembly twins of `quantizeSamplesInto` and `dequantizeSamplesInto` (quantize.ts): same
// arithmetic and the same dither stream (one `rng()` draw per group seeds its LCG), so codes,
// mins, scales and restored values are bit-identical to the JS path. They run the SIMD kernels
// `actQuantizeExact` / `actRestoreExact` (src/wasm/assembly/act-groups.ts, kind ACT_EXACT; the
// scalar `actQuantize` / `actRestore`, kind ACT_SCALAR, are their references in the tests).
// Inputs and outputs are copied
// through scratch blocks of the module's heap, released before returning.
//
// `kernel: 'simd'` runs the SIMD twins instead: float32 arithmetic four values at a time and a
// counter-based dither (a hash of the group's seed and the value's index), unbiased with the same
// variance as the JS path but not the same stream; restored values within 1 ulp of min+code*scale.

/** The seed kernel of src/wasm/assembly/act-exact.ts, declared here beside its use. */
export interface CodecExports {
  /** Group seeds from a mulberry32 counter: the next `n` draws of the generator, as int32. */
  actMulberrySeeds(state: number, n: number, out: number): void;
}

/** Values per chunk through the heap: 64 KiB, which stays in a core's L1/L2 cache. */
const CHUNK_VALUES = 16384;

/** Which wasm kernel: 'exact' (bit-identical to the JS path) or 'simd' (faster; own stream). */
export type WasmCodecKernel = 'exact' | 'simd';

/** `quantizeSamplesInto` in wasm: quantizes the whole samples in `values` into `q` from `first`. */
export function quantizeSamplesIntoWasm(
  values: Float32Array,
  q: QuantizedGroups,
  first: number,
  rng: Rng,
  kernel: WasmCodecKernel = 'exact',
): void {
  const { bits, perSample } = q;
  const samples = values.length / perSample;
  if (!Number.isInteger(samples) || first < 0 || first + samples > q.samples)
    throw new Error(
      `quantizeSamplesIntoWasm: ${values.length} values are not whole samples ${first}..`,
    );
  if (samples === 0) return;
  const gps = groupsPerSample(perSample);
  const nGroups = samples * gps;
  const wordsPerGroup = (GROUP_SIZE * bits) / 32;
  const { exports, heap } = wasmKernels();
  // The values travel a few samples at a time through one small block, each chunk quantized
  // while it is still in cache: one pass over the input in memory instead of three (copy, then
  // the kernel's range and code passes over a heap copy as large as the input).
  const chunk = Math.max(1, Math.floor(CHUNK_VALUES / perSample));
  const xp = heap.alloc(Math.min(chunk, samples) * perSample * 4);
  const sp = heap.alloc(nGroups * 4);
  const wp = heap.alloc(nGroups * wordsPerGroup * 4);
  const mp = heap.alloc(nGroups * 4);
  const cp = heap.alloc(nGroups * 4);
  try {
    // One draw per group on both kernels (the codes do not depend on how the batch is chunked),
    // straight into the heap (after the last alloc: growing the memory detaches views).
    // A makeRng generator's draws are computed in wasm from its counter (the same numbers).
    const codec = exports as unknown as CodecExports;
    const counter = rngCounter(rng);
    if (counter !== null) {
      codec.actMulberrySeeds(counter.state(), nGroups, sp);
      counter.skip(nGroups);
    } else {
      const seeds = new Int32Array(heap.bytes().buffer, sp, nGroups);
      for (let g = 0; g < nGroups; g++) seeds[g] = (rng() * 4294967296) | 0;
    }
    const run = kernel === 'simd' ? exports.actQuantizeSimd : exports.actQuantizeExact;
    for (let s = 0; s < samples; s += chunk) {
      const m = Math.min(chunk, samples - s);
      heap.f32(xp, m * perSample).set(values.subarray(s * perSample, (s + m) * perSample));
      const g = s * gps;
      const bad = run(
        xp,
        m,
        perSample,
        bits,
        sp + g * 4,
        wp + g * wordsPerGroup * 4,
        mp + g * 4,
        cp + g * 4,
      );
      if (bad !== 0) throw new Error('quantizeGroups: activation holds NaN or infinite values');
    }
    const buf = heap.bytes().buffer;
    const g0 = first * gps;
    q.words.set(new Int32Array(buf, wp, nGroups * wordsPerGroup), g0 * wordsPerGroup);
    q.mins.set(new Float32Array(buf, mp, nGroups), g0);
    q.scales.set(new Float32Array(buf, cp, nGroups), g0);
  } finally {
    for (const p of [xp, sp, wp, mp, cp]) heap.release(p);
  }
}

/** `dequantizeSamplesInto` in wasm: samples `first` .. `first + count - 1` into `out`. */
export function dequantizeSamplesIntoWasm(
  q: QuantizedGroups,
  first: number,
  count: number,
  out: Float32Array,
  kernel: WasmCodecKernel = 'exact',
): void {
  const { bits, samples, perSample } = q;
  if (out.length !== count * perSample)
    throw new Error(
      `dequantizeSamplesIntoWasm: output holds ${out.length} values, not ${count * perSample}`,
    );
  checkSampleRange('dequantizeSamplesIntoWasm', first, count, samples);
  if (count === 0) return;
  const gps = groupsPerSample(perSample);
  const wordsPerGroup = (GROUP_SIZE * bits) / 32;
  const { exports, heap } = wasmKernels();
  // Only the groups of the requested samples travel; the kernel indexes them from sample 0.
  const g0 = first * gps;
  const n = count * gps;
  const wp = heap.put(q.words.subarray(g0 * wordsPerGroup, (g0 + n) * wordsPerGroup));
  const mp = heap.put(q.mins.subarray(g0, g0 + n));
  const cp = heap.put(q.scales.subarray(g0, g0 + n));
  // The output comes back a few samples at a time through one small block (see above).
  const chunk = Math.max(1, Math.floor(CHUNK_VALUES / perSample));
  const op = heap.alloc(Math.min(chunk, count) * perSample * 4);
  try {
    const run = kernel === 'simd' ? exports.actRestoreSimd : exports.actRestoreExact;
    for (let s = 0; s < count; s += chunk) {
      const m = Math.min(chunk, count - s);
      run(wp, mp, cp, perSample, bits, s, m, op);
      out.set(heap.f32(op, m * perSample), s * perSample);
    }
  } finally {
    for (const p of [wp, mp, cp, op]) heap.release(p);
  }
}
