import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkThreadOptions } from '../../src/cli/commands/train-threads.js';
import { tempDir } from '../temp-dir.js';
import { runCli as cli, frugal } from './run-cli.js';

const dir = tempDir('frugal-cli-threads-');

function warnings(run: () => unknown): { value: unknown; lines: string[] } {
  const lines: string[] = [];
  const real = console.warn;
  console.warn = (...args: unknown[]) => void lines.push(args.join(' '));
  try {
    return { value: run(), lines };
  } finally {
    console.warn = real;
  }
}

describe('frugal train --threads / --parallel auto', () => {
  it('checks the options before any work', () => {
    const wasm = { backend: 'wasm' };
    assert.throws(
      () => checkThreadOptions({ backend: 'cpu', threads: 2 }, true, 2),
      /--threads applies to the wasm backend only/,
    );
    assert.throws(
      () => checkThreadOptions({ ...wasm, threads: 1 }, true, 2),
      /--threads 1 changes nothing/,
    );
    assert.throws(
      () => checkThreadOptions({ ...wasm, parallel: 'auto', threads: 2 }, true, 2),
      /--parallel auto chooses between threads and workers itself: drop --threads/,
    );
    assert.throws(
      () => checkThreadOptions({ ...wasm, parallel: 'auto', workers: 2 }, true, 2),
      /drop --workers/,
    );
    assert.throws(
      () => checkThreadOptions({ backend: 'cpu', parallel: 'auto' }, true, 2),
      /threads need the wasm backend/,
    );
    assert.throws(
      () => checkThreadOptions({ ...wasm, parallel: 'auto' }, false, 2),
      /--parallel auto cannot be combined with --act-\* options or --memory-budget/,
    );
    assert.deepEqual(checkThreadOptions({ ...wasm, threads: 2 }, false, 2), {
      mainThreads: 2,
      workers: 1,
      auto: false,
    });
    assert.deepEqual(checkThreadOptions({ ...wasm, parallel: 'auto' }, true, 4), {
      mainThreads: 4,
      workers: 1,
      auto: true,
    });
    const oneCore = warnings(() => checkThreadOptions({ ...wasm, parallel: 'auto' }, true, 1));
    assert.deepEqual(oneCore.value, { workers: 1, auto: false });
    assert.match(oneCore.lines.join('\n'), /1-core machine: nothing to parallelise/);
    const over = warnings(() => checkThreadOptions({ ...wasm, threads: 2, workers: 2 }, true, 2));
    assert.deepEqual(over.value, { workers: 2, threadsPerWorker: 2, auto: false });
    assert.match(over.lines.join('\n'), /2 workers x 2 threads = 4 threads on 2 cores/);
  });

  it('rejects --threads on the cpu backend from the command line, writing nothing', async () => {
    const out = join(dir, 'bad.json');
    const r =
      await frugal`train --dataset synthetic --backend cpu --threads 2 --out ${out} --no-progress`;
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--threads applies to the wasm backend only/);
    assert.equal(existsSync(out), false);
    const zero = await cli('train', '--threads', '0', '--no-progress');
    assert.match(zero.stderr, /expected a positive integer, got '0'/);
  });

  const args = (out: string, ...more: string[]) => [
    'train',
    '--model',
    'mlp',
    '--dataset',
    'synthetic',
    '--batch',
    '32',
    '--max-steps',
    '6',
    '--out',
    out,
    '--no-progress',
    ...more,
  ];

  it('trains with --threads 2 and records the XNNPACK threads in the report', async () => {
    const out = join(dir, 'threads.json');
    const r = await cli(...args(out, '--threads', '2'));
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual(report.parallel, { threads: 2, workers: 1 });
    assert.equal(report.workers, 1);
    assert.ok(report.result.testAccuracy > 0.5, `accuracy ${report.result.testAccuracy}`);
  });

  it('--parallel auto measures threads against workers and trains with the faster', {
    skip: availableParallelism() < 2 ? 'needs 2 cores' : false,
  }, async () => {
    const out = join(dir, 'auto.json');
    const r = await cli(...args(out, '--parallel', 'auto'));
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    const { auto, threads, workers } = report.parallel;
    assert.ok(auto.threadsMs > 0 && auto.workersMs > 0, JSON.stringify(auto));
    const cores = availableParallelism();
    if (auto.threadsMs <= auto.workersMs) {
      assert.equal(auto.mode, 'threads');
      assert.deepEqual([threads, workers], [cores, 1]);
    } else {
      assert.equal(auto.mode, 'workers');
      assert.deepEqual([threads, workers], [1, Math.min(cores, 4)]);
    }
    assert.equal(report.workers, workers);
    assert.match(r.stdout, /--parallel auto: \d+ threads \d+ ms\/step, \d+ workers \d+ ms\/step/);
  });
});
