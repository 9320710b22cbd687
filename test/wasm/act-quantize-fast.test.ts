// actQuantizeFast (src/wasm/assembly/act-codec.ts) is actQuantizeSimd with fewer instructions:
// the same codes, mins and scales for the same seeds, on every width, partial tail words,
// constant groups and values that land on the clamps; the same NaN refusal.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeRng } from '../../src/engine/random.js';
import { type KernelExports, wasmKernels } from '../../src/wasm/module.js';
import { type Quantize, runQuantize } from './act-quantize-run.js';

describe('actQuantizeFast', () => {
  const e = wasmKernels().exports as unknown as KernelExports & { actQuantizeFast: Quantize };
  for (const bits of [1, 2, 4, 8]) {
    it(`${bits} bits: the same codes, mins and scales as actQuantizeSimd`, () => {
      const samples = 4;
      const perSample = 701; // groups of 256, 256, 189: partial tail words
      const r = makeRng(bits);
      const x = new Float32Array(samples * perSample);
      for (let i = 0; i < x.length; i++) x[i] = Math.fround((r() - 0.4) * 3);
      for (let i = 256; i < 512; i++) x[i] = -2.25; // a constant group
      // Values exactly on the group's min and max (the clamps).
      for (let i = 512; i < 700; i += 50) x[i] = 5;
      const seeds = new Int32Array(samples * 3);
      for (let i = 0; i < seeds.length; i++) seeds[i] = (r() * 4294967296) | 0;
      const a = runQuantize(e.actQuantizeSimd, x, samples, bits, seeds);
      const b = runQuantize(e.actQuantizeFast, x, samples, bits, seeds);
      assert.equal(a.bad, 0);
      assert.deepEqual(b, a);
      assert.ok(a.words.some((w) => w !== 0));
    });
  }
  it('refuses NaN like actQuantizeSimd', () => {
    const x = new Float32Array(300).fill(1);
    x[17] = Number.NaN;
    const seeds = new Int32Array(2);
    assert.equal(runQuantize(e.actQuantizeFast, x, 1, 2, seeds).bad, 1);
    assert.equal(runQuantize(e.actQuantizeSimd, x, 1, 2, seeds).bad, 1);
  });
});
