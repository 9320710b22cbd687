import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { actConfigFromOptions, type TrainCommandOptions } from '../../src/cli/commands/train.js';
import {
  baselineOptions,
  l0BaselineOptions,
  TRAIN_OPTION_ROLES,
} from '../../src/cli/commands/train-baseline.js';
import { buildCli } from '../../src/cli/program.js';

/** The options every run below shares (their own epochs, optimizer and seed beside them). */
const CORE = {
  model: 'cnn',
  dataset: 'synthetic',
  batch: 32,
  lr: 0.01,
  backend: 'cpu',
  maxSteps: 3,
  progress: false,
  fastKernels: true,
} as const;

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
      ...CORE,
      epochs: 2,
      optimizer: 'sgd',
      seed: 9,
      trainCount: 64,
      testCount: 16,
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

  it('the L0 run keeps every option but saves float32 in the same layers', () => {
    const o: TrainCommandOptions = {
      ...CORE,
      epochs: 1,
      optimizer: 'adam',
      seed: 4,
      actBits: 2,
      fewbit: 2,
      perSampleBits: true,
      forwardChunk: 8,
      out: 'runs/r.json',
      save: 'runs/m',
      overwrite: true,
      baseline: true,
      print: true,
    };
    const l0 = l0BaselineOptions(o);
    assert.ok(l0);
    assert.deepEqual(actConfigFromOptions(l0), {
      level: 'L0',
      perSample: false,
      bits: null,
      fewbit: 0,
      rmm: null,
      seed: 4,
      forwardChunk: 8,
    });
    for (const f of [
      'model',
      'dataset',
      'batch',
      'lr',
      'optimizer',
      'seed',
      'fastKernels',
    ] as const)
      assert.equal(l0[f], o[f], f);
    for (const f of ['out', 'save', 'overwrite'] as const) assert.equal(l0[f], undefined, f);
    assert.equal(l0.baseline, false);
    assert.equal(l0.print, false);
  });

  it('no L0 run where nothing is compressed or the planner owns --act-bits', () => {
    const base = { model: 'cnn', dataset: 'synthetic', epochs: 1, batch: 8, lr: 0.01 };
    const none = (extra: Partial<TrainCommandOptions>) =>
      l0BaselineOptions({ ...base, ...extra } as TrainCommandOptions);
    assert.equal(none({}), undefined);
    assert.equal(none({ fewbit: 2 }), undefined);
    assert.equal(none({ actBits: 32 }), undefined);
    assert.equal(none({ actLevel: 'L0' }), undefined);
    assert.equal(none({ actBits: 2, memoryBudget: 1e6 }), undefined);
    assert.ok(none({ actLevel: 'L3' }));
    assert.ok(none({ perSampleBits: true }));
  });
});
