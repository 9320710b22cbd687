import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { useFastKernels } from '../../src/kernels/index.js';
import {
  type Conv3dOptions,
  conv2dKernelTo3d,
  conv3dAs2d,
  conv3dAs2dWith2dKernel,
  conv3dKernelTo2d,
} from '../../src/lowrank/conv3d.js';
import { useBackend } from '../helpers.js';

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** The kernel with zeros inserted between taps: conv3d with it at dilation 1 is the dilated conv3d. */
function dilateKernel(k: tf.Tensor5D, dil: [number, number, number]): tf.Tensor5D {
  const [kd, kh, kw, ci, co] = k.shape;
  const shape = [(kd - 1) * dil[0] + 1, (kh - 1) * dil[1] + 1, (kw - 1) * dil[2] + 1, ci, co];
  const src = k.arraySync() as number[][][][][];
  const out = tf.buffer(shape);
  for (let a = 0; a < kd; a++)
    for (let b = 0; b < kh; b++)
      for (let c = 0; c < kw; c++)
        for (let i = 0; i < ci; i++)
          for (let o = 0; o < co; o++)
            out.set(src[a][b][c][i][o], a * dil[0], b * dil[1], c * dil[2], i, o);
  return out.toTensor() as tf.Tensor5D;
}

const CASES: [string, [number, number, number], Conv3dOptions][] = [
  ['valid, stride 1', [3, 3, 3], {}],
  ['same, stride 1', [3, 3, 3], { padding: 'same' }],
  ['valid, strides [2,1,2]', [3, 2, 3], { strides: [2, 1, 2] }],
  ['same, strides 2', [2, 3, 3], { padding: 'same', strides: 2 }],
  ['valid, dilations [2,1,2]', [2, 3, 2], { dilations: [2, 1, 2] }],
  ['same, dilations 2', [3, 2, 2], { padding: 'same', dilations: 2 }],
  ['dilated tf.conv3d forward', [2, 2, 2], { dilations: [2, 2, 1] }],
  [
    'same, strides 2 + dilations 2 (tf.conv3d refuses both)',
    [3, 3, 3],
    { padding: 'same', strides: 2, dilations: 2 },
  ],
];

for (const [name, [kd, kh, kw], opts] of CASES) {
  test(`conv3dAs2d equals tf.conv3d in values and gradients: ${name}`, () => {
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([2, 7, 6, 7, 2], 0, 1, 'float32', 1) as tf.Tensor5D;
    const k = tf.randomNormal([kd, kh, kw, 2, 3], 0, 1, 'float32', 2) as tf.Tensor5D;
    const dil = (
      typeof opts.dilations === 'number'
        ? [opts.dilations, opts.dilations, opts.dilations]
        : (opts.dilations ?? [1, 1, 1])
    ) as [number, number, number];
    const kRef = dilateKernel(k, dil);
    const pad = opts.padding ?? 'valid';
    const strides = opts.strides ?? 1;
    const ref = (xx: tf.Tensor5D, kk: tf.Tensor5D) => tf.conv3d(xx, kk, strides, pad);
    const mine = (xx: tf.Tensor5D, kk: tf.Tensor5D) => conv3dAs2d(xx, kk, opts);
    // reference: tf.conv3d with the zero-filled kernel (tfjs has no conv3d gradient for dilation)
    const y = mine(x, k);
    const yRef = ref(x, kRef);
    assert.ok(maxAbsDiff(y, yRef) < 1e-4, 'forward values');
    if (opts.strides === undefined) {
      const direct = tf.conv3d(x, k, 1, pad, 'NDHWC', dil); // the dilated op itself (forward only)
      assert.ok(maxAbsDiff(y, direct) < 1e-4, 'forward values vs dilated tf.conv3d');
      direct.dispose();
    }
    const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 3);
    const [gx, gk] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(mine(a as tf.Tensor5D, b as tf.Tensor5D), dy)),
    )([x, k]);
    const [gxRef, gkRefDilated] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(ref(a as tf.Tensor5D, b as tf.Tensor5D), dy)),
    )([x, kRef]);
    assert.ok(maxAbsDiff(gx, gxRef) < 1e-3, 'input gradient');
    // the dilated kernel's gradient at the taps is the kernel gradient
    const gkRefArr = gkRefDilated.arraySync() as number[][][][][];
    const gkArr = gk.arraySync() as number[][][][][];
    let worst = 0;
    for (let a = 0; a < kd; a++)
      for (let b = 0; b < kh; b++)
        for (let c = 0; c < kw; c++)
          for (let i = 0; i < 2; i++)
            for (let o = 0; o < 3; o++)
              worst = Math.max(
                worst,
                Math.abs(gkArr[a][b][c][i][o] - gkRefArr[a * dil[0]][b * dil[1]][c * dil[2]][i][o]),
              );
    assert.ok(worst < 1e-3, `kernel gradient off by ${worst}`);
    tf.dispose([x, k, kRef, y, yRef, dy, gx, gk, gxRef, gkRefDilated]);
    assert.equal(tf.memory().numTensors, before);
  });
}

test('conv3d kernel to 2D and back is the identity', () => {
  const k = tf.randomNormal([3, 2, 4, 5, 6], 0, 1, 'float32', 4) as tf.Tensor5D;
  const back = conv2dKernelTo3d(conv3dKernelTo2d(k), 3);
  assert.equal(maxAbsDiff(k, back), 0);
  tf.dispose([k, back]);
});

test('conv3dAs2d: bad input names the problem', () => {
  const x = tf.zeros([1, 4, 4, 4, 2]);
  const k = tf.zeros([2, 2, 2, 3, 1]) as tf.Tensor5D;
  assert.throws(() => conv3dAs2d(x, k), /expected depth 2 x 2 input channels/);
  assert.throws(() => conv3dAs2d(tf.zeros([4, 4, 4, 2]), k), /input must be \[B, D, H, W, C\]/);
  const k2 = tf.zeros([5, 2, 2, 2, 1]) as tf.Tensor5D;
  assert.throws(() => conv3dAs2d(x, k2), /depth 4 is shorter than the kernel span/);
  assert.throws(
    () => conv3dAs2d(x, tf.zeros([2, 2, 2, 2, 1]) as tf.Tensor5D, { strides: 0 }),
    /strides must be positive/,
  );
  assert.throws(
    () => conv3dAs2d(x, tf.zeros([2, 2, 2, 2, 1]) as tf.Tensor5D, { dilations: [1, 0, 1] }),
    /conv3dAs2d: dilations must be positive integers \[d, h, w\], got 1,0,1/,
  );
  assert.throws(
    () =>
      conv3dAs2d(x, tf.zeros([2, 2, 2, 2, 1]) as tf.Tensor5D, {
        padding: 'causal' as 'same',
      }),
    /padding must be 'valid' or 'same', got "causal"/,
  );
  assert.throws(
    () => conv3dAs2d(x, tf.zeros([2, 5, 2, 2, 1]) as tf.Tensor5D),
    /spatial size 4 is smaller than the kernel span/,
  );
  assert.throws(
    () => conv3dAs2d(x, tf.zeros([2, 2, 2, 1]) as unknown as tf.Tensor5D),
    /kernel must be \[kd, kh, kw, Cin, Cout\], got \[2,2,2,1\]/,
  );
  assert.throws(
    () => conv3dKernelTo2d(tf.zeros([2, 2, 2, 1]) as unknown as tf.Tensor5D),
    /conv3dKernelTo2d: kernel must be \[kd, kh, kw, Cin, Cout\]/,
  );
  assert.throws(
    () => conv2dKernelTo3d(tf.zeros([2, 2, 6, 1]) as tf.Tensor4D, 4),
    /6 input channels are not a multiple of depth 4/,
  );
  assert.throws(
    () => conv2dKernelTo3d(tf.zeros([2, 2, 6, 1]) as tf.Tensor4D, 0),
    /depth must be a positive integer, got 0/,
  );
  assert.throws(
    () => conv3dAs2dWith2dKernel(x, tf.zeros([2, 2, 4, 1]) as tf.Tensor4D, 1.5),
    /kernel depth must be a positive integer, got 1.5/,
  );
});

test('conv3dAs2d has gradients on wasm with frugal kernels (no GatherV2 / UnsortedSegmentSum needed), equal to cpu', async () => {
  const grads = () => {
    const x = tf.tensor5d(
      Array.from({ length: 2 * 5 * 4 * 4 * 2 }, (_, i) => Math.sin(i)),
      [2, 5, 4, 4, 2],
    );
    const k = tf.tensor5d(
      Array.from({ length: 2 * 2 * 2 * 2 * 3 }, (_, i) => Math.cos(i)),
      [2, 2, 2, 2, 3],
    );
    const [gx, gk] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(conv3dAs2d(a, b as tf.Tensor5D, { padding: 'same', strides: [2, 1, 1] })),
    )([x, k]);
    const out = [Array.from(gx.dataSync()), Array.from(gk.dataSync())];
    tf.dispose([x, k, gx, gk]);
    return out;
  };
  await useBackend('cpu');
  const onCpu = grads();
  await useBackend('wasm');
  useFastKernels(); // stock tfjs-wasm has no Conv2DBackpropFilter
  try {
    const onWasm = grads();
    for (let i = 0; i < 2; i++)
      assert.ok(onCpu[i].every((v, j) => Math.abs(v - onWasm[i][j]) < 1e-3));
  } finally {
    await useBackend('cpu');
  }
});
