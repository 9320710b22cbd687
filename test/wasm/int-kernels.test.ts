import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ActQuant,
  type ConvGeometry,
  IntLinear,
  packPanels,
  unpackPanels,
} from '../../src/wasm/int-linear.js';
import { wasmKernels } from '../../src/wasm/module.js';
import { conv2dRef, gemmRef, quantizeRef, roundEven } from '../../src/wasm/reference.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function codes(count: number, lo: number, hi: number, r: () => number): Int8Array {
  return Int8Array.from({ length: count }, () => lo + Math.floor(r() * (hi - lo + 1)));
}

function floats(count: number, r: () => number, scale = 1): Float32Array {
  return Float32Array.from({ length: count }, () => (r() * 2 - 1) * scale);
}

function assertExact(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i]))
      assert.fail(`${what}: value ${i} is ${actual[i]}, reference ${expected[i]}`);
  }
}

/** A convolution geometry, positionally (the fields of ConvGeometry in order). */
function geometry(
  batch: number,
  h: number,
  w: number,
  c: number,
  kh: number,
  kw: number,
  strides: [number, number],
  dilations: [number, number],
  padding: 'valid' | 'same',
): ConvGeometry {
  return { batch, h, w, c, kh, kw, strides, dilations, padding };
}

describe('wasm integer kernels', () => {
  it('round half to even as WebAssembly nearest does', () => {
    assert.deepEqual(
      [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6].map(roundEven),
      [0, 2, 2, -0, -2, -2, 2, -3],
    );
  });

  it('pack and unpack int8 and int4 panels round trip', () => {
    const r = rng(3);
    for (const [k, n] of [
      [1, 1],
      [5, 13],
      [16, 8],
    ]) {
      const q8 = codes(k * n, -128, 127, r);
      assert.deepEqual(unpackPanels(packPanels(q8, k, n, 8), k, n, 8), q8);
      const q4 = codes(k * n, -8, 7, r);
      assert.deepEqual(unpackPanels(packPanels(q4, k, n, 4), k, n, 4), q4);
    }
    assert.throws(() => packPanels(Int8Array.of(9), 1, 1, 4), /int4 codes must be in -8..7/);
  });

  it('dense equals the JS integer reference exactly (int8/int4, zero, bias, ReLU, act modes)', () => {
    const r = rng(7);
    const heap = wasmKernels().heap;
    const before = heap.liveBlocks;
    const acts: ActQuant[] = [{ mode: 'row' }, { mode: 'tensor' }, { mode: 'static', scale: 0.01 }];
    let cases = 0;
    for (const [rows, k, n] of [
      [1, 1, 1],
      [1, 33, 17],
      [3, 7, 8],
      [4, 16, 5],
      [5, 40, 24],
      [9, 19, 13],
    ]) {
      for (const bits of [8, 4] as const) {
        const q = bits === 8 ? codes(k * n, -128, 127, r) : codes(k * n, -8, 7, r);
        const scale = floats(n, r, 0.05).map(Math.abs);
        const zero = floats(n, r, 0.1);
        const bias = floats(n, r);
        for (const withZero of [false, true]) {
          const lin = new IntLinear({ q, k, n, bits, scale, zero: withZero ? zero : null, bias });
          for (const act of acts) {
            for (const relu of [false, true]) {
              const x = floats(rows * k, r, 2);
              const { q: xq, scales } = quantizeRef(x, rows, k, act);
              const ep = { scale, zero: withZero ? zero : null, bias, relu };
              const ref = gemmRef(xq, rows, k, q, n, scales, ep);
              assertExact(lin.dense(x, rows, act, relu), ref, `dense ${rows}x${k}x${n} b${bits}`);
              cases++;
            }
          }
          lin.dispose();
        }
      }
    }
    assert.equal(cases, 6 * 2 * 2 * 3 * 2);
    assert.equal(heap.liveBlocks, before, 'every block is released');
  });

  it('static scale clamps codes beyond its range', () => {
    const lin = new IntLinear({
      q: Int8Array.of(1),
      k: 1,
      n: 1,
      bits: 8,
      scale: Float32Array.of(1),
    });
    const y = lin.dense(Float32Array.of(10, -10, 0.5), 3, { mode: 'static', scale: 0.01 });
    assert.deepEqual(Array.from(y), [Math.fround(127 * 0.01), Math.fround(-127 * 0.01), 0.5]);
    assert.throws(() => lin.dense(Float32Array.of(1), 1, { mode: 'static', scale: 0 }), /positive/);
    lin.dispose();
    assert.throws(() => lin.dense(Float32Array.of(1), 1), /after dispose/);
  });

  it('conv2d (im2col blocks onto the GEMM) equals a direct integer convolution exactly', () => {
    const r = rng(11);
    const heap = wasmKernels().heap;
    const before = heap.liveBlocks;
    // batch, h, w, c, kh, kw, strides, dilations, padding
    const geoms: ConvGeometry[] = [
      geometry(1, 5, 5, 1, 3, 3, [1, 1], [1, 1], 'valid'),
      geometry(2, 9, 11, 3, 3, 3, [1, 1], [1, 1], 'same'),
      geometry(2, 12, 10, 4, 3, 2, [2, 3], [1, 1], 'same'),
      geometry(1, 13, 13, 8, 3, 3, [1, 1], [2, 2], 'valid'),
    ];
    for (const g of geoms) {
      for (const bits of [8, 4] as const) {
        const n = bits === 8 ? 10 : 16;
        const k = g.kh * g.kw * g.c;
        const q = bits === 8 ? codes(k * n, -127, 127, r) : codes(k * n, -8, 7, r);
        const scale = floats(n, r, 0.05).map(Math.abs);
        const zero = bits === 4 ? floats(n, r, 0.1) : null;
        const bias = floats(n, r);
        const lin = new IntLinear({ q, k, n, bits, scale, zero, bias });
        for (const act of [{ mode: 'row' }, { mode: 'tensor' }] as ActQuant[]) {
          const x = floats(g.batch * g.h * g.w * g.c, r, 3);
          const ref = conv2dRef(x, g, q, n, act, { scale, zero, bias, relu: true });
          assertExact(lin.conv2d(x, g, act, true), ref, `conv ${JSON.stringify(g)} b${bits}`);
        }
        lin.dispose();
      }
    }
    assert.equal(heap.liveBlocks, before);
  });

  it('rejects mismatched shapes with clear errors', () => {
    assert.throws(
      () => new IntLinear({ q: new Int8Array(3), k: 2, n: 2, bits: 8, scale: new Float32Array(2) }),
      /3 codes for \[2, 2\]/,
    );
    const lin = new IntLinear({
      q: new Int8Array(4),
      k: 2,
      n: 2,
      bits: 8,
      scale: new Float32Array(2),
    });
    assert.throws(() => lin.dense(new Float32Array(3), 2), /3 inputs for 2 rows of 2/);
    lin.dispose();
  });
});
