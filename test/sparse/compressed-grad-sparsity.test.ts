import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { compressActivations } from '../../src/activation/convert.js';
import { CompressedConv2D } from '../../src/activation/layers/compressed-conv2d.js';
import { CompressedDense } from '../../src/activation/layers/compressed-dense.js';
import type { CompressedKernelLayer } from '../../src/activation/layers/compressed-kernel-layer.js';
import { toPlainModel } from '../../src/activation/to-plain.js';
import { makeRng, normal } from '../../src/engine/random.js';
import { seedActivationRng, setBackwardChunkBytes } from '../../src/engine/settings.js';
import { hasSparseGradLayers, modelPruneStats, sparseGradModel } from '../../src/sparse/convert.js';
import { type GradPrune, pruneGradient } from '../../src/sparse/grad-prune.js';
import { SparseGradConv2D } from '../../src/sparse/sparse-grad-conv-layer.js';
import { SparseGradDense } from '../../src/sparse/sparse-grad-dense.js';
import { applyStep } from '../../src/train/gradients.js';
import { resolveLoss } from '../../src/train/loss.js';
import { assertMeanIs, assertMeanIsNot, drawMoments } from '../draw-moments.js';
import { maxAbsDiff, saveAndLoad, useBackend } from '../helpers.js';

function randn(shape: number[], seed: number, scale = 1): tf.Tensor {
  const rng = makeRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => scale * normal(rng)),
    shape,
  );
}

/** [dx, dW, db] of sum(layer(x) * c) in training mode, in one backward pass. */
function grads(layer: tf.layers.Layer, x: tf.Tensor, c: tf.Tensor): tf.Tensor[] {
  return tf.tidy(() => {
    const xv = tf.variable(x, true, `x${Math.random()}`);
    const vars = [xv, ...layer.trainableWeights.map((w) => w.read() as tf.Variable)];
    const { value, grads: g } = tf.variableGrads(
      () => tf.sum(tf.mul(layer.apply(xv, { training: true }) as tf.Tensor, c)) as tf.Scalar,
      vars,
    );
    value.dispose();
    const out = vars.map((v) => tf.keep(g[v.name]));
    xv.dispose();
    return out;
  });
}

/** Builds `layer` on `shape` with the weights of `like` (or seeded random ones). */
function withWeights<T extends tf.layers.Layer>(layer: T, shape: number[], like?: tf.layers.Layer) {
  layer.apply(tf.zeros(shape));
  const ws = like?.getWeights() ?? layer.getWeights().map((w, i) => randn(w.shape, 40 + i, 0.5));
  layer.setWeights(ws);
  return layer;
}

function relErr(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(
    () => tf.norm(tf.sub(a, b)).dataSync()[0] / Math.max(tf.norm(b).dataSync()[0], 1e-6),
  );
}

const SPECS: GradPrune[] = [
  { n: 2, m: 4, kind: 'mvue' },
  { n: 1, m: 2, kind: 'mvue' },
  { n: 2, m: 4, kind: 'approx' },
  { n: 2, m: 4, kind: 'magnitude' },
  { kind: 'stochastic', p: 0.9 },
];
const label = (s: GradPrune) =>
  s.kind === 'stochastic' ? `stochastic ${s.p}` : `${s.kind} ${s.n}:${s.m}`;

describe('gradSparsity in compressed-activation layers', () => {
  before(() => useBackend('cpu'));

  for (const spec of SPECS)
    for (const pruneInputGrad of [false, true])
      it(`exact saves (actBits 32): Dense and Conv2D gradients equal the sparse-gradient layers' for the same seed (${label(spec)}, pruneInputGrad ${pruneInputGrad})`, () => {
        for (const activation of ['linear', 'relu'] as const)
          for (const batch of [8, 6]) {
            const common = { gradSparsity: spec, pruneInputGrad, activation };
            const dShape = [batch, 7];
            const ref = withWeights(
              new SparseGradDense({ units: 5, seed: 3, nmKernel: 'off', ...common }),
              dShape,
            );
            const mine = withWeights(
              new CompressedDense({ units: 5, actBits: 32, gradSeed: 3, ...common }),
              dShape,
              ref,
            );
            const cShape = [batch, 5, 5, 2];
            const conv = { filters: 3, kernelSize: 3, strides: 2, padding: 'same' } as const;
            const refC = withWeights(new SparseGradConv2D({ ...conv, seed: 4, ...common }), cShape);
            const mineC = withWeights(
              new CompressedConv2D({ ...conv, actBits: 32, gradSeed: 4, ...common }),
              cShape,
              refC,
            );
            for (const [a, b, shape] of [
              [mine, ref, dShape],
              [mineC, refC, cShape],
            ] as const) {
              const x = randn(shape, 7);
              const c = randn(b.computeOutputShape(shape) as number[], 8);
              // twice: the mask streams stay in step across backwards
              for (let rep = 0; rep < 2; rep++) {
                const got = grads(a, x, c);
                const want = grads(b, x, c);
                got.forEach((g, i) => {
                  const e = relErr(g, want[i]);
                  assert.ok(e < 1e-5, `${a.name} ${activation} batch ${batch} grad ${i}: ${e}`);
                });
                tf.dispose([...got, ...want]);
              }
              tf.dispose([x, c]);
            }
          }
      });

  it("2-bit saves: the gradients are the compressed layer's own backward with dz pruned before the weight product (same activation seed, same mask stream)", () => {
    for (const activation of ['linear', 'relu'] as const)
      for (const [kind, Layer, shape, extra] of [
        ['dense', CompressedDense, [8, 6], { units: 4 }],
        ['conv', CompressedConv2D, [8, 5, 5, 2], { filters: 3, kernelSize: 3, padding: 'same' }],
        ['dense rmm', CompressedDense, [8, 6], { units: 4, rmmRatio: 0.5 }],
      ] as const) {
        const spec: GradPrune = { n: 2, m: 4, kind: 'mvue' };
        const plain = withWeights(
          new (Layer as typeof CompressedDense)({ ...extra, actBits: 2, activation } as never),
          shape as unknown as number[],
        );
        const sparse = withWeights(
          new (Layer as typeof CompressedDense)({
            ...extra,
            actBits: 2,
            activation,
            gradSparsity: spec,
            gradSeed: 9,
          } as never),
          shape as unknown as number[],
          plain,
        );
        const x = randn(shape as unknown as number[], 1);
        const c = randn(plain.computeOutputShape(shape as unknown as number[]) as number[], 2);
        // dz = c through the activation's derivative (the forward is exact: z = conv/dense of x)
        const z = tf.tidy(() => {
          const y = plain.apply(x) as tf.Tensor; // inference forward: exact
          return activation === 'relu' ? tf.cast(tf.greater(y, 0), 'float32') : tf.onesLike(y);
        });
        const dz = tf.mul(c, z);
        const dzPruned = pruneGradient(dz, spec, makeRng(9));
        seedActivationRng(5);
        const got = grads(sparse, x, c);
        seedActivationRng(5);
        const dense = grads(plain, x, c); // dx and db: the dense dz
        seedActivationRng(5);
        const masked = grads(plain, x, dzPruned); // dW: the pruned dz
        const names = ['dx', 'dW', 'db'];
        const want = [dense[0], masked[1], dense[2]];
        got.forEach((g, i) => {
          const e = relErr(g, want[i]);
          assert.ok(e < 1e-5, `${kind} ${activation} ${names[i]}: ${e}`);
        });
        // and the 2-bit saves matter: the exact weight gradient of the pruned dz differs
        const exact = tf.tidy(() =>
          kind !== 'conv' ? tf.matMul(x, dzPruned, true) : tf.zeros([1]),
        );
        if (kind !== 'conv') assert.ok(relErr(got[1], exact) > 1e-3, 'no quantization seen');
        tf.dispose([x, c, z, dz, dzPruned, exact, ...got, ...dense, ...masked]);
      }
  });

  /** Per-entry mean and SE of a 2-bit compressed Dense's dW over `draws` backwards. */
  function dwStats(spec: GradPrune, draws: number, chunkBytes?: number) {
    const shape = [16, 5];
    const layer = withWeights(
      new CompressedDense({ units: 3, actBits: 2, activation: 'relu', gradSparsity: spec }),
      shape,
    );
    const x = randn(shape, 21);
    const c = randn([16, 3], 22);
    const exactDw = tf.tidy(() => {
      const [k, b] = layer.getWeights();
      const y = tf.add(tf.matMul(x, k), b);
      return tf.matMul(x, tf.mul(c, tf.cast(tf.greater(y, 0), 'float32')), true);
    });
    const dense = Array.from(exactDw.dataSync());
    if (chunkBytes) setBackwardChunkBytes(chunkBytes);
    let moments: { mean: number[]; se: number[] };
    try {
      moments = drawMoments(draws, () => {
        const g = grads(layer, x, c);
        const v = g[1].dataSync();
        tf.dispose(g);
        return v;
      });
    } finally {
      if (chunkBytes) setBackwardChunkBytes(1 << 20);
    }
    const stats = (layer as CompressedKernelLayer).gradPruner?.stats;
    tf.dispose([x, c, exactDw]);
    const { mean, se } = moments;
    return { dense, mean, se, stats };
  }

  for (const chunkBytes of [undefined, 6 * 4 * 5])
    it(`mvue 2:4 on 2-bit saves is unbiased: mean dW over 400 draws equals the exact one (z-test${chunkBytes ? ', backward in chunks of 6 samples' : ''})`, () => {
      const { dense, mean, se, stats } = dwStats({ n: 2, m: 4, kind: 'mvue' }, 400, chunkBytes);
      assertMeanIs({ mean, se }, dense);
      // 2 of every 4 kept (dz has relu zeros too): at least half the entries are zeros
      assert.ok(stats && stats.total === 400 * 16 * 3 && stats.zeros >= stats.total / 2);
    });

  it('magnitude 2:4 on the same path is biased (the z-test can fail)', () => {
    const { dense, mean } = dwStats({ n: 2, m: 4, kind: 'magnitude' }, 40);
    assertMeanIsNot(mean, dense, 0.1);
  });

  it('options: serialized with the layer; bad values name the field; an option that changes nothing is an error', async () => {
    const spec = { n: 1, m: 2, kind: 'mvue' } as const;
    const layer = new CompressedDense({
      units: 3,
      gradSparsity: spec,
      gradSeed: 4,
      pruneInputGrad: true,
      inputShape: [4],
    });
    const model = tf.sequential({ layers: [layer] });
    const loaded = await saveAndLoad(model);
    const l2 = loaded.layers[0] as CompressedDense;
    assert.deepEqual(l2.gradPruner?.getConfig(), {
      gradSparsity: spec,
      pruneInputGrad: true,
      gradSeed: 4,
    });
    assert.equal('gradSparsity' in new CompressedDense({ units: 2 }).getConfig(), false);
    assert.throws(
      () => new CompressedDense({ units: 2, gradSparsity: { n: 3, m: 2, kind: 'mvue' } }),
      /gradSparsity: n: n \(3\) must not exceed m \(2\)/,
    );
    assert.throws(
      () => new CompressedConv2D({ filters: 2, kernelSize: 1, pruneInputGrad: true }),
      /pruneInputGrad and gradSeed apply to gradSparsity/,
    );
    assert.throws(
      () => new CompressedDense({ units: 2, gradSparsity: { kind: 'stochastic', p: 1 } }),
      /p must be in \(0, 1\)/,
    );
  });

  function tinyCnn(): tf.LayersModel {
    const m = tf.sequential();
    m.add(
      tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 4, kernelSize: 3, activation: 'relu' }),
    );
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 8, activation: 'relu' }));
    m.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
    return m;
  }

  it("whole models: compressActivations keeps a sparse-gradient model's pruning, sparseGradModel prunes a compressed model; same forward, trains through applyStep without leaks, toPlainModel drops it", async () => {
    const base = tinyCnn();
    const spec: GradPrune = { n: 2, m: 4, kind: 'mvue' };
    const viaSparse = (
      await compressActivations(sparseGradModel(base, spec, { seed: 2 }).model, { bits: 2 })
    ).model;
    const compressed = (await compressActivations(base, { bits: 2 }, { warn: () => {} })).model;
    const r = sparseGradModel(compressed, spec, { seed: 2 });
    assert.deepEqual(
      r.converted.map((c) => c.from),
      ['FrugalCompressedConv2D', 'FrugalCompressedDense'],
    );
    for (const m of [viaSparse, r.model]) {
      const layers = m.layers.filter((l) => (l as CompressedKernelLayer).gradPruner);
      assert.deepEqual(
        layers.map((l) => [
          l.getClassName(),
          (l as CompressedKernelLayer).gradPruner?.getConfig().gradSeed,
        ]),
        [
          ['FrugalCompressedConv2D', 2],
          ['FrugalCompressedDense', 3],
        ],
      );
      assert.ok(hasSparseGradLayers(m));
    }
    // already pruning: left as it is and listed (here nothing is left to convert: an error)
    assert.throws(() => sparseGradModel(r.model, spec), /conv2d\w*: already prunes its gradient/);
    const x = randn([8, 6, 6, 1], 3);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
    assert.ok(maxAbsDiff(base.predict(x) as tf.Tensor, r.model.predict(x) as tf.Tensor) < 1e-5);
    const model = r.model;
    const opt = tf.train.adam(1e-2);
    const ctx = {
      variables: model.trainableWeights.map((w) => w.read() as tf.Variable),
      forward: (xs: tf.Tensor, training: boolean) => model.apply(xs, { training }) as tf.Tensor,
      loss: resolveLoss(model),
    };
    const losses: number[] = [];
    const step = () => {
      const v = applyStep(ctx, opt, { xs: x, ys: y });
      losses.push(v.dataSync()[0]);
      v.dispose();
    };
    step();
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) step();
    assert.equal(tf.memory().numTensors, n0, 'tensors leaked across steps');
    assert.ok(losses[losses.length - 1] < losses[0], `loss ${losses[0]} -> ${losses.at(-1)}`);
    const s = modelPruneStats(model);
    assert.ok(s.total > 0 && s.zeros / s.total >= 0.5, `zeros ${s.zeros}/${s.total}`);
    const plain = (await toPlainModel(model)).model;
    assert.ok(!hasSparseGradLayers(plain));
    assert.doesNotMatch(JSON.stringify(plain.toJSON(null, false)), /gradSparsity|Frugal/);
    tf.dispose([x, y]);
    opt.dispose();
  });
});

after(() => setBackwardChunkBytes(1 << 20));
