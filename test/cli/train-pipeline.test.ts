import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkPipelineOptions } from '../../src/cli/commands/train-pipeline.js';
import { tempDir } from '../temp-dir.js';
import { runCli as cli, frugal } from './run-cli.js';

const dir = tempDir('frugal-cli-pipeline-');

describe('frugal train --pipeline', () => {
  it('checks the options before any work', () => {
    const o = { batch: 32 };
    assert.equal(checkPipelineOptions(o, true), undefined);
    assert.throws(
      () => checkPipelineOptions({ ...o, stages: 2 }, true),
      /--stages 2 applies to --pipeline/,
    );
    assert.throws(
      () => checkPipelineOptions({ ...o, microbatches: 4 }, true),
      /--microbatches 4 applies to --pipeline/,
    );
    assert.throws(
      () => checkPipelineOptions({ ...o, pipeline: '2bw', workers: 2 }, true),
      /drop --workers, --threads and --parallel/,
    );
    assert.throws(
      () => checkPipelineOptions({ ...o, pipeline: '2bw' }, false),
      /cannot be combined with --act-\* options, --memory-budget, --grad-sparsity, --low-precision/,
    );
    assert.throws(
      () => checkPipelineOptions({ ...o, pipeline: '2bw', stages: 1 }, true),
      /--stages 1 is no pipeline/,
    );
    assert.throws(
      () => checkPipelineOptions({ ...o, pipeline: 'flush', microbatches: 33 }, true),
      /--microbatches 33 is more than the 32 rows/,
    );
    assert.deepEqual(checkPipelineOptions({ ...o, pipeline: '2bw' }, true), {
      schedule: '2bw',
      stages: 2,
      microbatches: 2,
    });
  });

  it('trains the MLP on a 2-stage 2BW pipeline and records it in the report', async () => {
    const out = join(dir, 'pipe.json');
    const r =
      await frugal`train --model mlp --dataset synthetic --batch 32 --max-steps 6 --pipeline 2bw --stages 2 --microbatches 4 --out ${out} --no-progress`;
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual(report.pipeline, { schedule: '2bw', stages: 2, microbatches: 4 });
    assert.equal(report.result.steps, 6);
    assert.ok(Number.isFinite(report.result.history[0].meanLoss));
    const bad = join(dir, 'bad.json');
    const e = await cli('train', '--pipeline', 'zigzag', '--out', bad, '--no-progress');
    assert.notEqual(e.code, 0);
    assert.match(e.stderr, /unknown pipeline schedule 'zigzag'/);
    const many =
      await frugal`train --model mlp --dataset synthetic --pipeline 2bw --stages 5 --out ${bad} --no-progress`;
    assert.notEqual(many.code, 0);
    assert.match(many.stderr, /into 5 pipeline stages: more stages than layers/);
    assert.equal(existsSync(bad), false);
  });
});
