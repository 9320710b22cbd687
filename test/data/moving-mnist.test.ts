import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadMnist } from '../../src/data/mnist.js';
import { MOVING_DIRECTIONS, movingMnist } from '../../src/data/moving-mnist.js';

const T = 6;
const C = 20;

/** Frame t of video i: its total mass and its centre of mass [row, col]. */
function frameStats(x: Float32Array, i: number, t: number, canvas = C, frames = T) {
  const base = (i * frames + t) * canvas * canvas;
  let m = 0;
  let r = 0;
  let c = 0;
  for (let p = 0; p < canvas * canvas; p++) {
    const v = x[base + p];
    m += v;
    r += v * Math.floor(p / canvas);
    c += v * (p % canvas);
  }
  return { mass: m, row: r / m, col: c / m };
}

describe('movingMnist', () => {
  const d = movingMnist({ trainCount: 60, testCount: 20, seed: 3 });

  it('has video samples [frames, canvas, canvas, 1] with values in [0, 1] and 8 direction classes', () => {
    assert.deepEqual(d.sampleShape, [T, C, C, 1]);
    assert.equal(d.numClasses, 8);
    assert.equal(d.train.count, 60);
    assert.equal(d.test.count, 20);
    assert.equal(d.train.x.length, 60 * T * C * C);
    assert.equal(d.test.x.length, 20 * T * C * C);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of d.train.x) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    assert.ok(lo >= 0 && hi <= 1 && hi > 0.5, `values in [${lo}, ${hi}]`);
    assert.ok(d.train.y.every((y) => y >= 0 && y < 8));
    // every direction occurs (60 draws of 8)
    assert.equal(new Set(d.train.y).size, 8);
  });

  it('moves the digit by speed x direction every frame, whole (same mass) and inside the canvas', () => {
    for (let i = 0; i < d.train.count; i++) {
      const [dy, dx] = MOVING_DIRECTIONS[d.train.y[i]];
      const f0 = frameStats(d.train.x, i, 0);
      assert.ok(f0.mass > 1, `video ${i} is blank`);
      for (let t = 1; t < T; t++) {
        const f = frameStats(d.train.x, i, t);
        assert.ok(Math.abs(f.mass - f0.mass) < 1e-3, `video ${i} frame ${t}: mass changed`);
        assert.ok(Math.abs(f.row - f0.row - t * dy) < 1e-3, `video ${i} frame ${t}: row`);
        assert.ok(Math.abs(f.col - f0.col - t * dx) < 1e-3, `video ${i} frame ${t}: col`);
      }
      // the digit box stays inside the canvas
      const { start } = d.motion.train[i];
      for (const t of [0, T - 1]) {
        const r0 = start[0] + t * dy;
        const c0 = start[1] + t * dx;
        assert.ok(
          r0 >= 0 && c0 >= 0 && r0 + 14 <= C && c0 + 14 <= C,
          `video ${i} leaves the canvas`,
        );
      }
    }
  });

  it('frame 0 is the 2x2-averaged MNIST digit at the start, and the digit label is that digit', () => {
    const mnist = loadMnist({ trainCount: 60, testCount: 20, seed: 3 });
    const byDigit = movingMnist({ trainCount: 60, testCount: 20, seed: 3, label: 'digit' });
    assert.equal(byDigit.numClasses, 10);
    assert.deepEqual(byDigit.train.y, mnist.train.y);
    // same videos whatever the label
    assert.deepEqual(byDigit.train.x, d.train.x);
    const i = 7;
    const [r0, c0] = d.motion.train[i].start;
    const src = mnist.train.x.subarray(i * 784, (i + 1) * 784);
    for (const [r, c] of [
      [5, 5],
      [7, 9],
      [10, 3],
    ]) {
      const want =
        (src[2 * r * 28 + 2 * c] +
          src[2 * r * 28 + 2 * c + 1] +
          src[(2 * r + 1) * 28 + 2 * c] +
          src[(2 * r + 1) * 28 + 2 * c + 1]) /
        4;
      assert.ok(Math.abs(d.train.x[i * T * C * C + (r0 + r) * C + c0 + c] - want) < 1e-6);
    }
  });

  it('is deterministic under a seed and changes with it', () => {
    const again = movingMnist({ trainCount: 60, testCount: 20, seed: 3 });
    const other = movingMnist({ trainCount: 60, testCount: 20, seed: 4 });
    assert.deepEqual(again.train.x, d.train.x);
    assert.deepEqual(again.test.y, d.test.y);
    assert.notDeepEqual(other.train.x, d.train.x);
  });

  it('supports 28 px digits, longer videos and faster motion', () => {
    const big = movingMnist({
      trainCount: 10,
      testCount: 5,
      frames: 4,
      canvas: 40,
      digitSize: 28,
      speed: 4,
      seed: 1,
    });
    assert.deepEqual(big.sampleShape, [4, 40, 40, 1]);
    for (let i = 0; i < big.train.count; i++) {
      const [dy, dx] = MOVING_DIRECTIONS[big.train.y[i]];
      const a = frameStats(big.train.x, i, 0, 40, 4);
      const b = frameStats(big.train.x, i, 3, 40, 4);
      assert.ok(
        Math.abs(b.row - a.row - 12 * dy) < 1e-3 && Math.abs(b.col - a.col - 12 * dx) < 1e-3,
      );
    }
  });

  it('bad input names the problem', () => {
    assert.throws(() => movingMnist({ frames: 0 }), /frames must be a positive integer, got 0/);
    assert.throws(() => movingMnist({ speed: 1.5 }), /speed must be a positive integer/);
    assert.throws(() => movingMnist({ digitSize: 20 as 14 }), /digitSize must be 14 or 28, got 20/);
    assert.throws(
      () => movingMnist({ label: 'speed' as 'digit' }),
      /label must be one of direction, digit/,
    );
    assert.throws(
      () => movingMnist({ canvas: 18, frames: 6 }),
      /canvas of 18 px cannot hold a 14 px digit moving 5 px .*needs canvas >= 19/,
    );
    assert.throws(
      () => movingMnist({ trainCount: 9000, testCount: 2000 }),
      /mnist train\+test: 11000 samples requested/,
    );
  });
});
