import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { compressActivations } from '../../src/activation/convert.js';
import { generateCommand } from '../../src/cli/commands/generate.js';
import { buildCli } from '../../src/cli/program.js';
import { ttMatrixToDense } from '../../src/compress/decompose/tt-svd.js';
import { TtmDense } from '../../src/compress/decompose/ttm-dense.js';
import { planRemat } from '../../src/remat/plan-model.js';
import { brownToText, loadBrown } from '../../src/transformers/corpus.js';
import { distillationLoss, distillStep } from '../../src/transformers/distill.js';
import { buildGpt, gptConfigOf, gptToTtm, truncateGpt } from '../../src/transformers/gpt.js';
import { generate, lmBatch, perplexity, trainLm } from '../../src/transformers/lm.js';
import { loadLm, saveLm } from '../../src/transformers/lm-files.js';
import { ByteTokenizer } from '../../src/transformers/tokenizer.js';
import { maxAbsDiff, useBackend } from '../helpers.js';
import { tempDir } from '../temp-dir.js';

const tiny = { vocabSize: 11, contextLength: 6, dModel: 8, numHeads: 2, numBlocks: 2, ffDim: 16 };
const dir = tempDir('frugal-gpt-');

function ids(values: number[][]): tf.Tensor2D {
  return tf.tensor2d(values, undefined, 'float32');
}

describe('GPT language model', () => {
  before(() => useBackend('cpu'));

  it('tokenizer: round trip, and out-of-vocabulary characters are errors naming them', () => {
    const tok = ByteTokenizer.ascii();
    assert.equal(tok.vocabSize, 96);
    const s = 'The jury said, "no evidence" (1961).\nNext line ~';
    assert.equal(tok.decode(tok.encode(s)), s);
    const wide = ByteTokenizer.fromText('naïve café');
    assert.equal(wide.decode(wide.encode('café naïve')), 'café naïve');
    assert.throws(
      () => tok.encode('caf\u00e9!'),
      /character "é" \(byte 0xc3\) at position 3 is not in/,
    );
    assert.throws(() => tok.decode([96]), /outside the vocabulary 0\.\.95/);
    assert.deepEqual(ByteTokenizer.fromJSON(tok.toJSON()).bytes, tok.bytes);
  });

  it('Brown corpus: tags dropped, text split by file into training and held-out parts', () => {
    assert.equal(
      brownToText(
        "\n\n\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ,/, in/in Atlanta's/np$ ./.\n",
      ),
      'The jury said "no evidence", in Atlanta\'s.',
    );
    const b = loadBrown({ maxFiles: 20 });
    assert.deepEqual(b.files, { train: 18, heldOut: 2 });
    assert.ok(b.train.length > 100_000 && b.heldOut.length > 10_000);
    assert.ok(!b.train.includes(b.heldOut.slice(0, 200)));
    ByteTokenizer.ascii().encode(b.train + b.heldOut); // all printable ASCII
    assert.throws(() => loadBrown({ maxFiles: 1 }), /maxFiles/);
  });

  it('causal: changing a token changes no logit of an earlier position', () => {
    const m = buildGpt({ ...tiny, seed: 1 });
    const a = ids([[1, 2, 3, 4, 5, 6]]);
    const b = ids([[1, 2, 3, 9, 5, 6]]);
    const ya = m.predict(a) as tf.Tensor;
    const yb = m.predict(b) as tf.Tensor;
    assert.deepEqual(ya.shape, [1, 6, 11]);
    assert.equal(maxAbsDiff(ya.slice([0, 0, 0], [1, 3, 11]), yb.slice([0, 0, 0], [1, 3, 11])), 0);
    assert.ok(maxAbsDiff(ya.slice([0, 3, 0], [1, 3, 11]), yb.slice([0, 3, 0], [1, 3, 11])) > 1e-6);
  });

  it('ties the output projection to the token embedding (one table)', () => {
    const m = buildGpt({ ...tiny, seed: 2 });
    const tables = m.weights.filter((w) => w.shape.join() === '11,8');
    assert.equal(tables.length, 1);
    assert.deepEqual(gptConfigOf(m), { ...tiny, seed: 0 });
  });

  it('perplexity of a uniform model equals the vocabulary size', () => {
    const m = buildGpt({ ...tiny, seed: 3 });
    m.setWeights(m.getWeights().map((w) => tf.zerosLike(w)));
    const tokens = Int32Array.from({ length: 40 }, (_, i) => (i * 7) % 11);
    const p = perplexity(m, tokens, { batchSize: 2 });
    assert.equal(p.tokens, 36);
    assert.ok(Math.abs(p.perplexity - 11) < 1e-4, `got ${p.perplexity}`);
  });

  it('trains: the loss falls on a repeating text, no tensors leak, generation continues it', () => {
    const m = buildGpt({ ...tiny, seed: 4 });
    const tokens = Int32Array.from({ length: 200 }, (_, i) => i % 5);
    const before = perplexity(m, tokens).perplexity;
    trainLm(m, tokens, { steps: 2, batchSize: 4, learningRate: 0.02, seed: 1 });
    const n = tf.memory().numTensors;
    const r = trainLm(m, tokens, { steps: 40, batchSize: 4, learningRate: 0.02, seed: 2 });
    assert.equal(tf.memory().numTensors, n);
    const after = perplexity(m, tokens).perplexity;
    assert.ok(after < before / 2, `perplexity ${before} -> ${after}`);
    assert.ok(r.tokensPerSecond > 0);
    const tok = new ByteTokenizer(Array.from({ length: 11 }, (_, i) => 97 + i)); // a..k
    assert.equal(generate(m, tok, 'abcde', { maxTokens: 5 }), 'abcde');
    assert.throws(() => generate(m, tok, 'abz'), /"z" .* at position 2 is not in/);
    assert.throws(() => generate(m, tok, ''), /prompt is empty/);
  });

  it('saves with its tokenizer; `frugal generate` continues a prompt and rejects unknown characters', async () => {
    const m = buildGpt({ ...tiny, vocabSize: 96, seed: 5 });
    const tok = ByteTokenizer.ascii();
    const out = join(dir, 'lm');
    await saveLm(m, tok, out);
    const back = await loadLm(out);
    const x = ids([[1, 2, 3, 4, 5, 6]]);
    assert.equal(maxAbsDiff(back.model.predict(x) as tf.Tensor, m.predict(x) as tf.Tensor), 0);
    const log = console.log;
    const printed: string[] = [];
    console.log = (s: string) => printed.push(s);
    try {
      const opts = { model: out, maxTokens: 4, temperature: 0, seed: 0, backend: 'cpu' };
      const text = await generateCommand({ ...opts, prompt: 'Hi' });
      assert.equal(text, generate(m, tok, 'Hi', { maxTokens: 4 }));
      assert.equal(printed[0], `Hi${text}`);
      await assert.rejects(generateCommand({ ...opts, prompt: 'H\u00e9' }), /not in the tokenizer/);
      await assert.rejects(
        generateCommand({ ...opts, model: join(dir, 'none'), prompt: 'a' }),
        /model file not found/,
      );
      const cli = buildCli().exitOverride();
      for (const c of cli.commands) c.exitOverride().configureOutput({ writeErr: () => {} });
      await cli.parseAsync(
        ['generate', '--model', out, '--prompt', 'Hi', '--max-tokens', '4', '--backend', 'cpu'],
        {
          from: 'user',
        },
      );
      assert.equal(printed[printed.length - 1], `Hi${text}`);
      await assert.rejects(
        cli.parseAsync(['generate', '--model', out, '--prompt', 'Hi', '--temperature', '-1'], {
          from: 'user',
        }),
        /expected a number >= 0, got '-1'/,
      );
    } finally {
      console.log = log;
    }
  });

  it('TTM: TtmDense equals its dense reconstruction; full-rank TT-SVD of a GPT keeps its output', () => {
    const dense = buildGpt({ ...tiny, seed: 6 });
    dense.setWeights(
      dense.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, 0.3, 'float32', i)),
    );
    const full = gptToTtm(dense, { rank: 8, cores: 2 }); // [4, 2] x [4, 4]: rank 8 is full
    for (const e of Object.values(full.relativeErrors)) assert.ok(e < 1e-5, `error ${e}`);
    const x = ids([
      [1, 2, 3, 4, 5, 6],
      [6, 5, 4, 3, 2, 1],
    ]);
    assert.ok(maxAbsDiff(full.model.predict(x) as tf.Tensor, dense.predict(x) as tf.Tensor) < 1e-4);
    const layer = full.model.getLayer('b1_ff1') as TtmDense;
    const w = layer.getWeights();
    const cores = w
      .slice(0, -1)
      .map((c) => ({ shape: c.shape, data: Float64Array.from(c.dataSync()) }));
    const W = tf.tensor2d(Float32Array.from(ttMatrixToDense(cores)), [8, 16]);
    const h = tf.randomNormal([3, 8], 0, 1, 'float32', 1);
    const lin = new TtmDense({
      inFactors: layer.inFactors,
      outFactors: layer.outFactors,
      ranks: layer.ranks,
    });
    lin.apply(h);
    lin.setWeights(w);
    assert.ok(
      maxAbsDiff(lin.apply(h) as tf.Tensor, tf.add(tf.matMul(h, W), w[w.length - 1])) < 1e-5,
    );
    const low = gptToTtm(dense, {
      rank: 2,
      cores: 3,
      modelFactors: [2, 2, 2],
      ffFactors: [2, 2, 4],
    });
    assert.ok(low.model.countParams() < dense.countParams());
    assert.ok(Object.values(low.relativeErrors).every((e) => e > 0.01 && e < 1));
    const scratch = buildGpt({ ...tiny, ttm: { rank: 2, cores: 3 }, seed: 7 });
    assert.equal(scratch.countParams(), low.model.countParams());
    assert.throws(
      () => buildGpt({ ...tiny, ttm: { rank: 2, modelFactors: [2, 2, 3] } }),
      /product is 8/,
    );
    assert.throws(
      () => buildGpt({ ...tiny, dModel: 14, numHeads: 2, ttm: { rank: 2 } }),
      /does not factor into 3 factors/,
    );
    assert.throws(
      () => buildGpt({ ...tiny, ttm: { rank: 99, cores: 2 } }),
      /exceeds the full TT rank 8/,
    );
  });

  it('distillation: hard term at alpha 1, zero soft term for a perfect student; truncation keeps weights', () => {
    const labels = tf.oneHot(tf.tensor2d([[1, 0]], undefined, 'int32'), 3).toFloat();
    const s = tf.randomNormal([1, 2, 3], 0, 1, 'float32', 2);
    const t = tf.randomNormal([1, 2, 3], 0, 1, 'float32', 3);
    const ce = tf.losses.softmaxCrossEntropy(labels, s).dataSync()[0];
    assert.ok(Math.abs(distillationLoss(labels, s, t, { alpha: 1 }).dataSync()[0] - ce) < 1e-6);
    assert.ok(Math.abs(distillationLoss(labels, s, s, { alpha: 0 }).dataSync()[0]) < 1e-5);
    assert.ok(distillationLoss(labels, s, t, { alpha: 0 }).dataSync()[0] > 1e-3);
    assert.throws(() => distillationLoss(labels, s, t, { alpha: 2 }), /alpha must be in \[0, 1\]/);
    const teacher = buildGpt({ ...tiny, seed: 8 });
    const student = truncateGpt(teacher, 1);
    assert.equal(gptConfigOf(student).numBlocks, 1);
    assert.equal(
      maxAbsDiff(
        student.getLayer('b1_ff1').getWeights()[0],
        teacher.getLayer('b1_ff1').getWeights()[0],
      ),
      0,
    );
    assert.throws(() => truncateGpt(teacher, 2), /keepBlocks must be an integer in 1\.\.1/);
    const tokens = Int32Array.from({ length: 100 }, (_, i) => i % 7);
    const w0 = student.getLayer('b1_ff1').getWeights()[0].clone();
    const r = trainLm(student, tokens, {
      steps: 3,
      batchSize: 2,
      learningRate: 0.01,
      step: (batch, opt) => distillStep(student, teacher, opt, batch),
    });
    assert.equal(r.losses.length, 3);
    assert.ok(maxAbsDiff(w0, student.getLayer('b1_ff1').getWeights()[0]) > 0);
  });

  it('memory options: compressed activations and remat on the GPT', async () => {
    const m = buildGpt({ ...tiny, seed: 9 });
    const x = ids([
      [1, 2, 3, 4, 5, 6],
      [2, 3, 4, 5, 6, 7],
    ]);
    const warnings: string[] = [];
    const r = await compressActivations(m, { level: 'L3' }, { warn: (w) => warnings.push(w) });
    assert.deepEqual(
      r.unconverted.map((u) => u.name),
      ['tokens'],
    );
    assert.ok(maxAbsDiff(r.model.predict(x) as tf.Tensor, m.predict(x) as tf.Tensor) < 1e-5);
    const batch = lmBatch(
      Int32Array.from({ length: 20 }, (_, i) => i % 11),
      [0, 3],
      6,
      11,
    );
    const plan = planRemat(m, batch, 1e9, { repeats: 1 });
    assert.ok(maxAbsDiff(plan.forward(batch.xs, true), m.predict(batch.xs) as tf.Tensor) < 1e-5);
    // The tied table is read by the first and the last stage: its gradient sums both uses.
    const table = m.getLayer('tokens').trainableWeights[0].read() as tf.Variable;
    const grad = (f: (x: tf.Tensor) => tf.Tensor) =>
      tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(batch.ys, f(batch.xs)) as tf.Scalar,
        [table],
      ).grads[table.name];
    const plain = grad((xs) => m.apply(xs, { training: true }) as tf.Tensor);
    const planned = grad((xs) => plan.forward(xs, true));
    assert.ok(maxAbsDiff(planned, plain) < 1e-5 && maxAbsDiff(plain, tf.zerosLike(plain)) > 1e-4);
    trainLm(
      r.model,
      Int32Array.from({ length: 50 }, (_, i) => i % 11),
      {
        steps: 2,
        batchSize: 2,
        learningRate: 0.01,
      },
    );
  });
});
