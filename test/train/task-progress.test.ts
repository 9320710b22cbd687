import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { quantizingLayers } from '../../src/activation/precision/auto-precision.js';
import { activationReport } from '../../src/activation/report.js';
import { compressForTraining } from '../../src/activation/training.js';
import { buildModel } from '../../src/models/zoo.js';
import { benchmarkStep } from '../../src/train/benchmark-step.js';
import type { TaskProgress } from '../../src/train/progress.js';
import { taskReporter } from '../../src/train/task-reporter.js';
import { useBackend } from '../helpers.js';
import { tinyData } from '../tiny-data.js';

const data = tinyData([6], 16, 1, { testCount: 4 });
const mlp = () => buildModel('mlp', { inputShape: [6], hidden: [8, 8], numClasses: 3, seed: 1 });

/** Checks one finished task: done runs 0..total by one, the same task and total throughout. */
function assertTask(events: TaskProgress[], total: number, task: RegExp): void {
  assert.deepEqual(
    events.map((e) => e.done),
    Array.from({ length: total + 1 }, (_, i) => i),
  );
  for (const e of events) {
    assert.equal(e.total, total);
    assert.match(e.task, task);
  }
}

describe('task progress callbacks', () => {
  it('taskReporter starts at 0, counts to total and stops there', () => {
    const events: TaskProgress[] = [];
    const tick = taskReporter((e) => events.push(e), 't', 2);
    tick('a');
    tick();
    tick('extra');
    assert.deepEqual(events, [
      { task: 't', done: 0, total: 2 },
      { task: 't', done: 1, total: 2, item: 'a' },
      { task: 't', done: 2, total: 2 },
      { task: 't', done: 2, total: 2, item: 'extra' },
    ]);
    taskReporter(undefined, 'quiet', 1)();
  });

  it('benchmarkStep reports every step (warm-up, memory-measured, timed)', async () => {
    await useBackend('cpu');
    const model = mlp();
    const events: TaskProgress[] = [];
    await benchmarkStep(model, {
      batchSize: 4,
      steps: 2,
      numClasses: 3,
      onProgress: (e) => events.push(e),
    });
    assertTask(events, 4, /^4 training steps$/);
    assert.deepEqual(
      events.slice(1).map((e) => e.item),
      ['warm-up', 'memory-measured', 'timed', 'timed'],
    );
    model.dispose();
  });

  it('mixed precision reports each layer probed before training; later re-allocations are silent', async () => {
    await useBackend('cpu');
    const model = mlp();
    const events: TaskProgress[] = [];
    const act = await compressForTraining(
      model,
      { level: 'L3.mixed', mixed: { avgBits: 2, everySteps: 1 } },
      data,
      { onProgress: (e) => events.push(e) },
    );
    const layers = quantizingLayers(act.model);
    assert.ok(layers.length > 1);
    assertTask(events, layers.length, /^probing the sensitivity of \d+ layers$/);
    assert.deepEqual(
      events.slice(1).map((e) => e.item),
      layers.map((l) => l.name),
    );
    act.afterStep();
    assert.equal(events.length, layers.length + 1);
    act.dispose();
    model.dispose();
    act.model.dispose();
  });

  it('activationReport reports its seeds + 2 passes', async () => {
    await useBackend('cpu');
    const model = mlp();
    const act = await compressForTraining(model, { level: 'L3' }, data);
    const xs = tf.randomNormal([4, 6], 0, 1, 'float32', 2);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3).toFloat();
    const events: TaskProgress[] = [];
    activationReport(
      act.model,
      act.forward,
      { xs, ys },
      { seeds: 3, onProgress: (e) => events.push(e) },
    );
    assertTask(events, 5, /^5 forward\+backward passes$/);
    assert.deepEqual(
      events.slice(1).map((e) => e.item),
      ['as configured', 'exact', 'seed 1', 'seed 2', 'seed 3'],
    );
    tf.dispose([xs, ys]);
    act.dispose();
    model.dispose();
    act.model.dispose();
  });
});
