import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { actConfig, validateActConfig } from '../../src/activation/config.js';
import { compressConfig, validateCompressConfig } from '../../src/compress/config.js';
import { decomposeConfig, validateDecomposeConfig } from '../../src/compress/decompose/config.js';
import '../../src/compress/methods/builtin.js';
import { ConfigVersionError, type VersionedConfig } from '../../src/config/index.js';
import { trainConfig, validateTrainConfig } from '../../src/train/config.js';

/** parse(toJSON(c)) equals validate(c), carries the version, and another version is refused. */
function roundTrip<T extends { version?: number }>(spec: VersionedConfig<T>, input: unknown) {
  const text = spec.toJSON(input as T);
  const back = spec.parse(text);
  assert.deepEqual(back, spec.validate(input));
  assert.equal(back.version, spec.version);
  assert.equal(JSON.stringify(JSON.parse(text)), JSON.stringify(back), 'the JSON is the config');
  const other = JSON.stringify({ ...JSON.parse(text), version: spec.version + 1 });
  assert.throws(() => spec.parse(other), ConfigVersionError);
  assert.throws(
    () => spec.parse(other),
    new RegExp(`version must be ${spec.version}, got ${spec.version + 1}`),
  );
  return back;
}

describe('the four configs on the config toolkit', () => {
  it('train config: versioned, JSON round trip, NaN shown as NaN', () => {
    const c = roundTrip(trainConfig, { epochs: 2, optimizer: 'sgd', seed: 5, maxStepsPerEpoch: 3 });
    assert.deepEqual(
      c,
      validateTrainConfig({ epochs: 2, optimizer: 'sgd', seed: 5, maxStepsPerEpoch: 3 }),
    );
    assert.equal(validateTrainConfig({ seed: 1 }).version, 1);
    assert.throws(() => validateTrainConfig({ learningRate: Number.NaN }), {
      message: 'train config: learningRate must be a positive number, got NaN',
    });
    assert.throws(() => validateTrainConfig({ measureMemory: 'yes' as never }), {
      message: 'train config: measureMemory must be true or false, got "yes"',
    });
  });

  it('activation config: versioned, JSON round trip of every kind of field', () => {
    const input = {
      level: 'L3.mixed',
      rmm: { ratio: 0.3, kind: 'rows' },
      perSample: true,
      overrides: { dense1: { actBits: 8, rmmRatio: 0 }, conv1: { skip: true, fewbit: 2 } },
      forwardChunk: 8,
      seed: 4,
    };
    const c = roundTrip(actConfig, input);
    assert.deepEqual(c.mixed, { avgBits: 2, everySteps: 100 });
    assert.deepEqual(c, validateActConfig(input as never));
    assert.equal(validateActConfig({}).version, 1);
    assert.throws(() => validateActConfig({ rmm: { ratio: Number.NaN, kind: 'rows' } }), {
      message: 'activation config: rmm.ratio must be in (0, 1], got NaN',
    });
    assert.throws(() => validateActConfig({ bits: 3 as never }), {
      message: 'activation config: bits must be one of 1, 2, 4, 8, 32 or null, got 3',
    });
  });

  it('decompose config: versioned (optional in code), JSON round trip', () => {
    const input = {
      method: 'tucker2',
      ratio: 0.5,
      layers: {
        conv1: { skip: true },
        dense1: { method: 'ttm', rank: 4, inFactors: [4, 6], outFactors: [2, 4] },
        conv2: { method: 'tucker2', rank: [2, 3] },
      },
    };
    const c = roundTrip(decomposeConfig, input);
    assert.deepEqual(c, { version: 1, ...input });
    assert.deepEqual(validateDecomposeConfig(input), c);
    assert.throws(() => validateDecomposeConfig({ layers: { conv2: { rank: [2, 0] } } }), {
      message:
        'decompose config: layers.conv2.rank must be a positive integer or [r_in, r_out], got [2,0]',
    });
    assert.throws(() => validateDecomposeConfig({ version: 2 }), ConfigVersionError);
  });

  it('compress config: versioned (required), JSON round trip', () => {
    const input = {
      version: 1,
      steps: [
        { method: 'nm', options: { n: 2, m: 4 }, layers: { logits: 'skip' } },
        { method: 'int4', layers: { dense1: { bits: 8 } } },
      ],
    };
    const c = roundTrip(compressConfig, input);
    assert.deepEqual(c, validateCompressConfig(input));
    assert.deepEqual(c.steps[1].options, {});
    assert.throws(() => validateCompressConfig({ version: 1, steps: [{ method: 3 }] }), {
      message: 'compress config: steps[0].method must be a string, got 3',
    });
  });
});
