import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { scenarioCommand } from '../../src/cli/commands/scenario.js';
import { encodeKernel, type KernelCodec } from '../../src/compress/packed/kernel-codec.js';
import { PackedDense } from '../../src/compress/packed/packed-dense.js';
import { saveModel } from '../../src/io/model-files.js';
import { frugal, runCli } from '../cli/run-cli.js';
import { useBackend } from '../helpers.js';
import { tempDir } from '../temp-dir.js';

const dir = tempDir('frugal-scenario-');
const int8: KernelCodec = { bits: 8, scheme: 'symmetric', granularity: 'channel', n: 0, m: 0 };

async function savedModels(): Promise<{ packed: string; float: string }> {
  await useBackend('cpu');
  const input = tf.input({ shape: [28, 28, 1] });
  const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
  const hidden = new PackedDense({ kernelShape: [784, 16], codec: int8, activation: 'relu' });
  const head = new PackedDense({ kernelShape: [16, 10], codec: int8, activation: 'softmax' });
  const packed = tf.model({
    inputs: input,
    outputs: head.apply(hidden.apply(flat)) as tf.SymbolicTensor,
  });
  const w1 = tf.randomNormal([784 * 16], 0, 0.05, 'float32', 1).dataSync() as Float32Array;
  const w2 = tf.randomNormal([160], 0, 0.3, 'float32', 2).dataSync() as Float32Array;
  hidden.setPacked(encodeKernel(w1, [784, 16], int8));
  head.setPacked(encodeKernel(w2, [16, 10], int8));
  const float = tf.sequential({
    layers: [tf.layers.flatten({ inputShape: [28, 28, 1] }), tf.layers.dense({ units: 10 })],
  });
  const paths = { packed: join(dir, 'packed'), float: join(dir, 'float') };
  await saveModel(packed, paths.packed);
  await saveModel(float, paths.float);
  packed.dispose();
  float.dispose();
  return paths;
}

describe('frugal bench --scenario', () => {
  it('runs a saved packed model on the integer kernels: performance and accuracy, JSON', async () => {
    const models = await savedModels();
    const out = join(dir, 'r.json');
    const before = tf.memory().numTensors;
    const r = await scenarioCommand(models.packed, {
      scenario: 'single-stream',
      backend: 'cpu',
      mode: 'both',
      minQueries: 60,
      minDuration: 0.05,
      out,
    });
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
    assert.deepEqual(
      r.kernels.map((k) => k.kernel),
      ['int8 wasm SIMD', 'int8 wasm SIMD'],
    );
    assert.deepEqual('steps' in r.plan && r.plan.steps.length, 2, 'runs as a whole-model plan');
    assert.ok(r.performance && r.performance.queries >= 60 && r.performance.percentileMs! > 0);
    assert.equal(r.performance.valid, false, 'shortened runs are not valid under LoadGen rules');
    assert.ok(r.accuracy && r.accuracy.samples === 1024 && r.accuracy.accuracy >= 0);
    assert.equal(JSON.parse(readFileSync(out, 'utf8')).performance.queries, r.performance.queries);

    const f = await scenarioCommand(models.float, {
      scenario: 'offline',
      backend: 'cpu',
      minQueries: 64,
      minDuration: 0.01,
      batch: 32,
    });
    assert.match(f.kernels[0].kernel, /not packed: no integer kernel/);
    assert.match('layerByLayer' in f.plan ? f.plan.layerByLayer : '', /has no integer plan step/);
    assert.ok(f.performance && f.performance.samplesPerSecond > 0);
  });

  it('names impossible settings before loading anything', async () => {
    await assert.rejects(
      scenarioCommand(join(dir, 'none'), { scenario: 'server', backend: 'cpu', minDuration: 1 }),
      /target QPS must be a positive number/,
    );
    await assert.rejects(
      scenarioCommand(undefined, { scenario: 'offline', backend: 'cpu' }),
      /needs a saved model directory/,
    );
    const r = await frugal`bench --scenario server ${join(dir, 'none')} --target-qps -5`;
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /expected a positive number, got '-5'/);
    const z = await runCli('bench', '--target-qps', '5');
    assert.notEqual(z.code, 0);
    assert.match(z.stderr, /need --scenario/);
    assert.equal(existsSync(join(dir, 'none')), false);
  });
});
