import { type KernelExports, wasmKernels } from '../../src/wasm/module.js';

export type Quantize = KernelExports['actQuantize'];

/** What an activation quantize kernel wrote: its NaN/Infinity flag, codes, mins and scales. */
export interface QuantizeRun {
  bad: number;
  words: Int32Array;
  /** Bits of the mins and scales (as int32, so +0 and -0 differ). */
  mins: Int32Array;
  scales: Int32Array;
}

/**
 * Runs an activation quantize kernel (groups of 256 values per sample, one seed word a group
 * from `seeds`) on `x` in wasm memory and reads back what it wrote. The outputs start as garbage:
 * a kernel must write every word, min and scale.
 */
export function runQuantize(
  kernel: Quantize,
  x: Float32Array,
  samples: number,
  bits: number,
  seeds: Int32Array,
): QuantizeRun {
  const { heap } = wasmKernels();
  const perSample = x.length / samples;
  const groups = samples * Math.ceil(perSample / 256);
  const xp = heap.put(x);
  const sp = heap.put(seeds);
  const wp = heap.alloc(groups * bits * 32);
  const mp = heap.alloc(groups * 4);
  const cp = heap.alloc(groups * 4);
  try {
    heap.bytes().fill(0xa5, wp, wp + groups * bits * 32);
    const bad = kernel(xp, samples, perSample, bits, sp, wp, mp, cp);
    const buf = heap.bytes().buffer;
    return {
      bad,
      words: new Int32Array(buf, wp, groups * bits * 8).slice(),
      mins: new Int32Array(buf, mp, groups).slice(),
      scales: new Int32Array(buf, cp, groups).slice(),
    };
  } finally {
    for (const p of [xp, sp, wp, mp, cp]) heap.release(p);
  }
}

/** `groups` seed words (random int32s from `r`), one a group of 256 values. */
export function randomSeeds(r: () => number, groups: number): Int32Array {
  const seeds = new Int32Array(groups);
  for (let i = 0; i < groups; i++) seeds[i] = (r() * 4294967296) | 0;
  return seeds;
}
