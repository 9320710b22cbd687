// actMulberrySeeds (src/wasm/assembly/act-exact.ts) and the generator counter it starts from
// (rngCounter, src/engine/random.ts): the group seeds the wasm codec computes are the draws the
// JS quantizer would make, and the generator is left where those draws would leave it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allocateGroups, quantizeSamplesInto } from '../../src/activation/codec/quantize.js';
import {
  type CodecExports,
  quantizeSamplesIntoWasm,
} from '../../src/activation/codec/quantize-wasm.js';
import { makeRng, rngCounter } from '../../src/engine/random.js';
import { wasmKernels } from '../../src/wasm/module.js';

describe('actMulberrySeeds', () => {
  const { exports, heap } = wasmKernels();
  const e = exports as unknown as CodecExports;
  for (const n of [0, 1, 3, 4, 9, 1000])
    it(`${n} draws: the generator's own, as int32, from any state`, () => {
      for (const seed of [0, 1, 0x7fffffff, 0xfffffff0, 2024]) {
        const rng = makeRng(seed);
        rng();
        const counter = rngCounter(rng);
        assert.ok(counter);
        const p = heap.alloc(n * 4);
        try {
          e.actMulberrySeeds(counter.state(), n, p);
          const got = new Int32Array(heap.bytes().buffer, p, n).slice();
          const want = Int32Array.from({ length: n }, () => (rng() * 4294967296) | 0);
          assert.deepEqual(got, want);
        } finally {
          heap.release(p);
        }
      }
    });

  it('skip(n) leaves the generator where n draws would', () => {
    const a = makeRng(77);
    const b = makeRng(77);
    rngCounter(a)?.skip(12345);
    for (let i = 0; i < 12345; i++) b();
    assert.equal(rngCounter(a)?.state(), rngCounter(b)?.state());
    assert.equal(a(), b());
  });

  it('a function that is not a makeRng generator has no counter', () => {
    assert.equal(
      rngCounter(() => 0.5),
      null,
    );
  });

  it('the wasm quantizer with a counter gives the codes of the JS draws, chunk after chunk', () => {
    const perSample = 700;
    const x = new Float32Array(5 * perSample);
    const r = makeRng(4);
    for (let i = 0; i < x.length; i++) x[i] = r() * 3 - 1;
    const viaCounter = allocateGroups(5, perSample, 2);
    const viaJs = allocateGroups(5, perSample, 2);
    const rngA = makeRng(31);
    const rngB = makeRng(31);
    const plain = () => rngB();
    // Two calls on one generator: the second starts where the first left it.
    quantizeSamplesIntoWasm(x.subarray(0, 2 * perSample), viaCounter, 0, rngA);
    quantizeSamplesIntoWasm(x.subarray(2 * perSample), viaCounter, 2, rngA);
    quantizeSamplesIntoWasm(x.subarray(0, 2 * perSample), viaJs, 0, plain);
    quantizeSamplesIntoWasm(x.subarray(2 * perSample), viaJs, 2, plain);
    assert.deepEqual(viaCounter, viaJs);
    assert.equal(rngA(), rngB());
    const js = allocateGroups(5, perSample, 2);
    quantizeSamplesInto(x, js, 0, makeRng(31));
    assert.deepEqual(viaCounter, js);
  });
});
