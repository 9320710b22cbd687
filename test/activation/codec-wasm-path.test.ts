// The compressed-layer gradient tests again, with the SIMD wasm codec quantizing and restoring
// every saved activation; plus the setting's checks and the exact path's identity with JS.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { activationCodec, setActivationCodec } from '../../src/activation/codec/codec-kernel.js';
import { saveQuantized } from '../../src/activation/codec/saved.js';
import { makeRng } from '../../src/engine/random.js';

describe('activation codec setting', () => {
  it('rejects an unknown kernel by name', () => {
    assert.throws(() => setActivationCodec('gpu' as never), /one of js, wasm, wasm-simd, got gpu/);
  });
  it("'wasm' saves and restores exactly what 'js' does; 'wasm-simd' restores within a step", () => {
    const prev = activationCodec();
    const x = tf.randomNormal([6, 5, 7, 3], 0, 1, 'float32', 4);
    const runs = (['js', 'wasm', 'wasm-simd'] as const).map((k) => {
      setActivationCodec(k);
      const s = saveQuantized(x, 2, false, makeRng(9));
      const words = Array.from(s.tensors[0].dataSync());
      const back = s.restore(s.tensors);
      const rows = s.restoreRows?.(s.tensors, 2, 3);
      const out = { words, back: Array.from(back.dataSync()), rows: rows?.dataSync().slice() };
      tf.dispose([...s.tensors, back, ...(rows ? [rows] : [])]);
      return out;
    });
    setActivationCodec(prev);
    assert.deepEqual(runs[1], runs[0]);
    const xs = x.dataSync();
    const d = tf.tidy(() => tf.max(tf.sub(tf.max(x), tf.min(x))).dataSync()[0]);
    for (let i = 0; i < xs.length; i++)
      assert.ok(Math.abs(runs[2].back[i] - xs[i]) <= d / 3 + 1e-6);
    assert.notDeepEqual(runs[2].words, runs[0].words);
    x.dispose();
  });
});

// Every test of these files runs with the SIMD codec (registered here, after the switch).
setActivationCodec('wasm-simd');
assert.equal(activationCodec(), 'wasm-simd');
await import('./layers.test.js');
await import('./conv-grad.test.js');
await import('./chunked-backward.test.js');
it('the imported tests ran with the SIMD codec', () => {
  assert.equal(activationCodec(), 'wasm-simd');
});
