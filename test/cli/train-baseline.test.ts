import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { actConfigFromOptions, type TrainCommandOptions } from '../../src/cli/commands/train.js';
import { baselineOptions, TRAIN_OPTION_ROLES } from '../../src/cli/commands/train-baseline.js';
import { buildCli } from '../../src/cli/program.js';

describe('frugal train --baseline: the plain run drops feature options as a group', () => {
  it('every option of `frugal train` has a role (a new flag cannot leak into the baseline)', () => {
    const train = buildCli().commands.find((c) => c.name() === 'train');
    assert.ok(train);
    const fields = train.options.map((o) => o.attributeName());
    assert.ok(fields.length > 20, `${fields}`);
    const unclassified = fields.filter((f) => !(f in TRAIN_OPTION_ROLES));
    assert.deepEqual(unclassified, []);
  });

  it('keeps the core options and drops every feature and output option', () => {
    const o: TrainCommandOptions = {
      model: 'cnn',
      dataset: 'synthetic',
      epochs: 2,
      batch: 32,
      lr: 0.01,
      optimizer: 'sgd',
      backend: 'cpu',
      seed: 9,
      trainCount: 64,
      testCount: 16,
      maxSteps: 3,
      progress: false,
      fastKernels: true,
      workers: 1,
      actLevel: 'L2',
      actBits: 4,
      fewbit: 2,
      rmm: 0.5,
      rmmKind: 'gaussian',
      forwardChunk: 8,
      perSampleBits: true,
      memoryBudget: 1e6,
      remat: 'joint',
      out: 'runs/r.json',
      save: 'runs/m',
      baseline: true,
      print: true,
    };
    const base = baselineOptions(o);
    assert.equal(actConfigFromOptions(base), null);
    for (const [field, role] of Object.entries(TRAIN_OPTION_ROLES)) {
      const value = (base as unknown as Record<string, unknown>)[field];
      if (role === 'core')
        assert.equal(value, (o as unknown as Record<string, unknown>)[field], field);
      else if (field === 'baseline' || field === 'print') assert.equal(value, false, field);
      else assert.equal(value, undefined, field);
    }
  });
});
