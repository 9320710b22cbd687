import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeRng, normal } from '../../src/engine/random.js';
import { convOutput } from '../../src/wasm/int-linear.js';
import { wasmKernels } from '../../src/wasm/module.js';

type Pool = (...a: number[]) => void;

/** Plain max pooling over the cells inside the input (padding never wins). */
function maxPoolRef(
  x: Float32Array,
  [batch, h, w, c]: number[],
  [ph, pw]: number[],
  [sh, sw]: number[],
  padding: 'valid' | 'same',
) {
  const g = { batch, h, w, c, kh: ph, kw: pw, strides: [sh, sw] as [number, number] };
  const { oh, ow, padTop, padLeft } = convOutput({ ...g, dilations: [1, 1], padding });
  const out = new Float32Array(batch * oh * ow * c);
  for (let b = 0; b < batch; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let ch = 0; ch < c; ch++) {
          let m = Number.NEGATIVE_INFINITY;
          for (let ky = 0; ky < ph; ky++)
            for (let kx = 0; kx < pw; kx++) {
              const iy = oy * sh - padTop + ky;
              const ix = ox * sw - padLeft + kx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              m = Math.max(m, x[((b * h + iy) * w + ix) * c + ch]);
            }
          out[((b * oh + oy) * ow + ox) * c + ch] = m;
        }
  return { out, oh, ow, padTop, padLeft };
}

describe('wasm max pooling (integer plan kernel)', () => {
  const cases: [number[], number[], number[], 'valid' | 'same'][] = [
    [[1, 24, 24, 64], [2, 2], [2, 2], 'valid'],
    [[2, 7, 5, 6], [3, 3], [2, 2], 'same'],
    [[3, 9, 9, 3], [2, 3], [1, 2], 'valid'],
    [[1, 5, 5, 1], [3, 3], [3, 3], 'same'],
  ];
  for (const [shape, pool, strides, padding] of cases) {
    it(`equals plain max pooling exactly: [${shape}] pool ${pool} strides ${strides} ${padding}`, () => {
      const { heap, exports } = wasmKernels();
      const e = exports as unknown as { maxPool2d: Pool };
      const rng = makeRng(shape.reduce((a, b) => a + b, 0));
      const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => normal(rng));
      const ref = maxPoolRef(x, shape, pool, strides, padding);
      const xp = heap.put(x);
      const op = heap.alloc(ref.out.length * 4);
      try {
        const [batch, h, w, c] = shape;
        e.maxPool2d(
          xp,
          batch,
          h,
          w,
          c,
          pool[0],
          pool[1],
          strides[0],
          strides[1],
          ref.padTop,
          ref.padLeft,
          ref.oh,
          ref.ow,
          op,
        );
        assert.deepEqual(heap.f32(op, ref.out.length).slice(), ref.out);
      } finally {
        heap.release(xp);
        heap.release(op);
      }
    });
  }
});
