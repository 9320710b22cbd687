// The activation codec, JS against wasm, interleaved in one run: ns per value for quantize
// (per-group min/scale, stochastic rounding, packing) and restore, 1/2/4/8 bits, on 64 samples of
// a 32x13x13 activation (the CNN's first conv output at batch 64, ~346k values).
// Run: npm run bench:act-codec   (writes bench/results/act-codec.json)
import {
  allocateGroups,
  dequantizeSamplesInto,
  quantizeSamplesInto,
} from '../src/activation/codec/quantize.js';
import {
  dequantizeSamplesIntoWasm,
  quantizeSamplesIntoWasm,
} from '../src/activation/codec/quantize-wasm.js';
import { makeRng } from '../src/engine/random.js';
import { interleavedTimes, numberArg, printTable, upperMedian, writeResults } from './lib/index.js';

const SAMPLES = 64;
const PER_SAMPLE = 32 * 13 * 13;
const ROUNDS = numberArg('rounds', 25);
const n = SAMPLES * PER_SAMPLE;
const r = makeRng(3);
const x = new Float32Array(n);
for (let i = 0; i < n; i++) x[i] = Math.max(0, r() * 2 - 0.5);
const out = new Float32Array(n);

interface Row {
  bits: number;
  path: string;
  quantizeNs: number;
  restoreNs: number;
  /** The fastest round: what the code costs when no other process takes the core. */
  quantizeNsBest: number;
  restoreNsBest: number;
}
const rows: Row[] = [];
for (const bits of [1, 2, 4, 8] as const) {
  const qj = allocateGroups(SAMPLES, PER_SAMPLE, bits);
  const qw = allocateGroups(SAMPLES, PER_SAMPLE, bits);
  const qs = allocateGroups(SAMPLES, PER_SAMPLE, bits);
  const times = interleavedTimes(
    [
      () => quantizeSamplesInto(x, qj, 0, makeRng(1)),
      () => quantizeSamplesIntoWasm(x, qw, 0, makeRng(1)),
      () => dequantizeSamplesInto(qj, 0, SAMPLES, out),
      () => dequantizeSamplesIntoWasm(qw, 0, SAMPLES, out),
      () => quantizeSamplesIntoWasm(x, qs, 0, makeRng(1), 'simd'),
      () => dequantizeSamplesIntoWasm(qs, 0, SAMPLES, out, 'simd'),
    ],
    { rounds: ROUNDS, warmup: 3, rotate: true },
  );
  const row = (path: string, q: number[], r: number[]): Row => ({
    bits,
    path,
    quantizeNs: (upperMedian(q) * 1e6) / n,
    restoreNs: (upperMedian(r) * 1e6) / n,
    quantizeNsBest: (Math.min(...q) * 1e6) / n,
    restoreNsBest: (Math.min(...r) * 1e6) / n,
  });
  rows.push(row('js', times[0], times[2]));
  rows.push(row('wasm exact', times[1], times[3]));
  rows.push(row('wasm simd', times[4], times[5]));
}
printTable(
  `Activation codec, ns per value (${n} values, upper median of ${ROUNDS} rounds; best round)`,
  ['bits', 'path', 'quantize', 'restore', 'quantize best', 'restore best'],
  rows.map((w) => [
    w.bits,
    w.path,
    w.quantizeNs.toFixed(2),
    w.restoreNs.toFixed(2),
    w.quantizeNsBest.toFixed(2),
    w.restoreNsBest.toFixed(2),
  ]),
);
const at = (bits: number, path: string) => rows.find((w) => w.bits === bits && w.path === path);
const path = writeResults('act-codec', {
  headline: {
    // The default codec ('wasm': exact, bit-identical to JS) is what training runs.
    quantizeNsPerValue: at(2, 'wasm exact')?.quantizeNs ?? Number.NaN,
    restoreNsPerValue: at(2, 'wasm exact')?.restoreNs ?? Number.NaN,
    quantizeNsPerValueBestRound: at(2, 'wasm exact')?.quantizeNsBest ?? Number.NaN,
    restoreNsPerValueBestRound: at(2, 'wasm exact')?.restoreNsBest ?? Number.NaN,
    quantizeNsPerValueSimd: at(2, 'wasm simd')?.quantizeNs ?? Number.NaN,
    restoreNsPerValueSimd: at(2, 'wasm simd')?.restoreNs ?? Number.NaN,
    quantizeNsPerValueJs: at(2, 'js')?.quantizeNs ?? Number.NaN,
    restoreNsPerValueJs: at(2, 'js')?.restoreNs ?? Number.NaN,
  },
  values: n,
  rounds: ROUNDS,
  rows,
  note: "Headline: 2 bits, the default codec ('wasm', exact). wasm times include copying inputs into and outputs out of the module heap, 64 KiB at a time (the wrappers in src/activation/codec/quantize-wasm.ts). wasm exact (actQuantizeExact / actRestoreExact) has the JS dither stream and is bit-identical to the JS path: a float32 screen with float64 recompute of the words where float32 could round a code differently, restore in float64 lanes. wasm simd is float32 x4 with a counter-based hash dither (unbiased, same variance, different stream). Times are upper medians of interleaved rounds (order rotated); *Best: the fastest round (the machine is shared, so the spread is wide).",
});
console.log(`wrote ${path}`);
