import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { makeRng } from '../../src/engine/random.js';
import { convInfo } from '../../src/kernels/conv-attrs.js';
import { patchesAreSmaller } from '../../src/kernels/conv2d-filter-grad-patches.js';
import { useFastKernels, useStockKernels } from '../../src/kernels/index.js';
import { BACKENDS, useBackend } from '../helpers.js';
import { gradsOn, randomInput, randomValues, relativeError, spreadFilter } from './reference.js';

interface ConvCase {
  n: number;
  h: number;
  w: number;
  c: number;
  f: number;
  kh: number;
  kw: number;
  stride: [number, number];
  pad: 'same' | 'valid';
}

const PATCH_CASES: ConvCase[] = [
  { n: 2, h: 9, w: 8, c: 1, f: 12, kh: 3, kw: 3, stride: [2, 1], pad: 'same' },
  { n: 3, h: 6, w: 7, c: 2, f: 5, kh: 2, kw: 1, stride: [1, 1], pad: 'valid' },
  { n: 1, h: 7, w: 9, c: 1, f: 4, kh: 1, kw: 3, stride: [3, 2], pad: 'same' },
];

/** Fixed corner cases, then seeded random shapes (odd sizes, batch 1, strides 1-3, both pads). */
function convCases(): ConvCase[] {
  const fixed: ConvCase[] = [
    { n: 1, h: 5, w: 5, c: 1, f: 1, kh: 3, kw: 3, stride: [1, 1], pad: 'valid' },
    { n: 2, h: 7, w: 6, c: 3, f: 4, kh: 3, kw: 3, stride: [2, 2], pad: 'same' },
    { n: 1, h: 8, w: 7, c: 2, f: 3, kh: 3, kw: 2, stride: [2, 1], pad: 'valid' },
    { n: 3, h: 9, w: 6, c: 1, f: 2, kh: 4, kw: 4, stride: [3, 2], pad: 'same' },
    { n: 2, h: 5, w: 5, c: 3, f: 3, kh: 1, kw: 1, stride: [2, 2], pad: 'same' },
    // N, C and F in fours: dW's two transposes take the SIMD kernels on wasm.
    { n: 4, h: 7, w: 6, c: 8, f: 4, kh: 3, kw: 3, stride: [1, 1], pad: 'valid' },
    { n: 8, h: 6, w: 5, c: 4, f: 12, kh: 2, kw: 3, stride: [2, 1], pad: 'same' },
    // Patches smaller than dy (KH*KW*C < F): dW on wasm as one matmul over the patches of x.
    ...PATCH_CASES,
  ];
  const rng = makeRng(11);
  const int = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
  for (let i = 0; i < 10; i++) {
    const kh = int(1, 4);
    const kw = int(1, 4);
    fixed.push({
      n: int(1, 3),
      h: int(kh, 9),
      w: int(kw, 9),
      c: int(1, 4),
      f: int(1, 5),
      kh,
      kw,
      stride: [int(1, 3), int(1, 3)],
      pad: rng() < 0.5 ? 'same' : 'valid',
    });
  }
  return fixed;
}

const label = (k: ConvCase) =>
  `x[${k.n},${k.h},${k.w},${k.c}] w[${k.kh},${k.kw},${k.c},${k.f}] s${k.stride} ${k.pad}`;

describe('fast Conv2D gradients match stock tfjs', () => {
  it('the patch cases are the ones the patches path takes', () => {
    for (const k of PATCH_CASES) {
      const attrs = { strides: k.stride, pad: k.pad };
      const info = convInfo([k.n, k.h, k.w, k.c], [k.kh, k.kw, k.c, k.f], attrs, false);
      assert.ok(patchesAreSmaller(info), label(k));
    }
    const big = convInfo([1, 8, 8, 4], [3, 3, 4, 16], { strides: 1, pad: 'valid' }, false);
    assert.equal(patchesAreSmaller(big), false);
  });

  for (const backend of BACKENDS) {
    it(`dX and dW on random shapes (${backend}, reference: stock cpu)`, async () => {
      for (const [i, k] of convCases().entries()) {
        const x = randomInput([k.n, k.h, k.w, k.c], 2 * i);
        const w = randomInput([k.kh, k.kw, k.c, k.f], 2 * i + 1);
        // A random linear functional of the output makes dy random too.
        const loss = (a: tf.Tensor, b: tf.Tensor) => {
          const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, k.stride, k.pad);
          return tf.sum(tf.mul(y, tf.tensor(randomValues(y.size, 1000 + i), y.shape))) as tf.Scalar;
        };
        const [fx, fw] = await gradsOn(backend, 'fast', [x, w], loss);
        const [sx, sw] = await gradsOn('cpu', 'stock', [x, w], loss);
        assert.ok(relativeError(fx, sx) < 1e-5, `dX ${label(k)}: ${relativeError(fx, sx)}`);
        assert.ok(relativeError(fw, sw) < 1e-5, `dW ${label(k)}: ${relativeError(fw, sw)}`);
      }
    });

    it(`dilated convolutions train (${backend}): matches the conv with a zero-dilated filter`, async () => {
      const cases = [
        { n: 2, h: 9, w: 8, c: 2, f: 3, k: 3, d: [2, 2] as [number, number], pad: 'same' as const },
        {
          n: 1,
          h: 10,
          w: 7,
          c: 3,
          f: 2,
          k: 2,
          d: [3, 1] as [number, number],
          pad: 'valid' as const,
        },
        // KH*KW*C < F: dW from the patches of x on wasm.
        {
          n: 2,
          h: 9,
          w: 9,
          c: 1,
          f: 10,
          k: 3,
          d: [2, 2] as [number, number],
          pad: 'same' as const,
        },
      ];
      for (const [i, k] of cases.entries()) {
        const x = randomInput([k.n, k.h, k.w, k.c], 50 + i);
        const w = randomInput([k.k, k.k, k.c, k.f], 60 + i);
        const r = (y: tf.Tensor) => tf.tensor(randomValues(y.size, 70 + i), y.shape);
        const dilated = (a: tf.Tensor, b: tf.Tensor) => {
          const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, k.pad, 'NHWC', k.d);
          return tf.sum(tf.mul(y, r(y))) as tf.Scalar;
        };
        // The same convolution with zeros spread into the filter, no dilation (stock can do it).
        const spread = (a: tf.Tensor, b: tf.Tensor) => {
          const y = tf.conv2d(a as tf.Tensor4D, spreadFilter(b, k.d), 1, k.pad);
          return tf.sum(tf.mul(y, r(y))) as tf.Scalar;
        };
        const [fx, fw] = await gradsOn(backend, 'fast', [x, w], dilated);
        const [sx, sw] = await gradsOn('cpu', 'stock', [x, w], spread);
        assert.ok(relativeError(fx, sx) < 1e-5, `dilated dX case ${i}: ${relativeError(fx, sx)}`);
        assert.ok(relativeError(fw, sw) < 1e-5, `dilated dW case ${i}: ${relativeError(fw, sw)}`);
      }
    });

    it(`the kernels leave exactly their output behind (${backend})`, async () => {
      await useBackend(backend);
      useFastKernels();
      try {
        const x = tf.randomNormal([2, 7, 7, 3]);
        const dy = tf.randomNormal([2, 4, 4, 5]);
        const filter = tf.randomNormal([3, 3, 3, 5]);
        const attrs = { strides: 2, pad: 'same', dataFormat: 'NHWC' };
        const run = (kernel: string, inputs: tf.NamedTensorMap, shape: object) =>
          tf.engine().runKernel(kernel, inputs, { ...attrs, ...shape }) as tf.Tensor;
        const backendImpl = tf.engine().backend;
        const ids = backendImpl.numDataIds();
        const tensors = tf.memory().numTensors;
        const dw = run('Conv2DBackpropFilter', { x, dy }, { filterShape: [3, 3, 3, 5] });
        const dx = run('Conv2DBackpropInput', { dy, filter }, { inputShape: [2, 7, 7, 3] });
        assert.deepEqual(dw.shape, [3, 3, 3, 5]);
        assert.deepEqual(dx.shape, [2, 7, 7, 3]);
        assert.equal(backendImpl.numDataIds(), ids + 2);
        assert.equal(tf.memory().numTensors, tensors + 2);
        tf.dispose([dw, dx, x, dy, filter]);
        assert.equal(backendImpl.numDataIds(), ids - 3);
        // dW from the patches of x (wasm): C = 1, F = 16.
        const x1 = tf.randomNormal([2, 7, 7, 1]);
        const dy1 = tf.randomNormal([2, 4, 4, 16]);
        const before = backendImpl.numDataIds();
        const dw1 = run('Conv2DBackpropFilter', { x: x1, dy: dy1 }, { filterShape: [3, 3, 1, 16] });
        assert.deepEqual(dw1.shape, [3, 3, 1, 16]);
        assert.equal(backendImpl.numDataIds(), before + 1);
        tf.dispose([dw1, x1, dy1]);
      } finally {
        useStockKernels();
      }
    });
  }

  it('useFastKernels is idempotent and useStockKernels puts the stock kernels back', () => {
    const stockCpu = tf.getKernel('Conv2DBackpropFilter', 'cpu');
    const stockGrad = tf.getGradient('Conv2D');
    assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined);
    useFastKernels();
    const fast = tf.getKernel('Conv2DBackpropFilter', 'cpu');
    useFastKernels();
    assert.equal(tf.getKernel('Conv2DBackpropFilter', 'cpu'), fast);
    assert.notEqual(fast, stockCpu);
    assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'));
    useStockKernels();
    useStockKernels();
    assert.equal(tf.getKernel('Conv2DBackpropFilter', 'cpu'), stockCpu);
    assert.equal(tf.getGradient('Conv2D'), stockGrad);
    assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined);
  });

  it('rejects a dy that does not match the forward output, naming the kernel', async () => {
    await useBackend('cpu');
    useFastKernels();
    try {
      const x = tf.zeros([1, 5, 5, 2]);
      const dy = tf.zeros([1, 4, 4, 3]);
      assert.throws(
        () =>
          tf.engine().runKernel(
            'Conv2DBackpropFilter',
            { x, dy },
            {
              strides: 1,
              pad: 'valid',
              dataFormat: 'NHWC',
              filterShape: [3, 3, 2, 3],
            },
          ),
        /Conv2DBackpropFilter: dy shape \[1,4,4,3\] does not match/,
      );
      const dyBatch2 = tf.zeros([2, 3, 3, 2]);
      assert.throws(
        () =>
          tf
            .engine()
            .runKernel(
              'DepthwiseConv2dNativeBackpropFilter',
              { x, dy: dyBatch2 },
              { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: [3, 3, 2, 1] },
            ),
        /DepthwiseConv2dNativeBackpropFilter: dy shape \[2,3,3,2\] does not match the forward output \[1,3,3,2\]/,
      );
      tf.dispose([x, dy, dyBatch2]);
    } finally {
      useStockKernels();
    }
  });

  it("rejects a filter whose input channels are not x's, naming the kernel (all four kernels)", async () => {
    await useBackend('cpu');
    useFastKernels();
    try {
      const x = tf.zeros([1, 5, 5, 2]);
      const attrs = { strides: 1, pad: 'valid', dataFormat: 'NHWC' } as const;
      const filter = tf.zeros([3, 3, 3, 1]);
      const dy = tf.zeros([1, 3, 3, 1]);
      const dyDepthwise = tf.zeros([1, 3, 3, 2]);
      const byInput = { inputShape: [1, 5, 5, 2] };
      const byFilter = { filterShape: [3, 3, 3, 1] };
      for (const [kernel, inputs, more] of [
        ['Conv2DBackpropInput', { dy, filter }, byInput],
        ['DepthwiseConv2dNativeBackpropInput', { dy: dyDepthwise, filter }, byInput],
        ['Conv2DBackpropFilter', { x, dy }, byFilter],
        ['DepthwiseConv2dNativeBackpropFilter', { x, dy: dyDepthwise }, byFilter],
      ] as const)
        assert.throws(
          () => tf.engine().runKernel(kernel, inputs, { ...attrs, ...more }),
          new RegExp(`^Error: ${kernel}: filter has 3 input channels, x has 2$`),
        );
      tf.dispose([x, filter, dy, dyDepthwise]);
    } finally {
      useStockKernels();
    }
  });
});
