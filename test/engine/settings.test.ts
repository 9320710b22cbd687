import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { nextRng } from '../../src/activation/codec/seed.js';
import { rowsPerChunk } from '../../src/activation/execution/row-chunks.js';
import {
  backwardChunkBytes,
  fastKernelsActive,
  seedActivationRng,
  setBackwardChunkBytes,
} from '../../src/engine/settings.js';
import * as frugal from '../../src/index.js';
import { useFastKernels, useStockKernels } from '../../src/kernels/index.js';

/**
 * Module-level `let`s that are not process-wide settings, with the reason. Anything else that
 * changes what frugal computes belongs in src/engine/settings.ts.
 */
const NOT_SETTINGS: Record<string, string> = {
  'activation/backward/weight-grad-sink.ts': 'the chunked forward running now (per call)',
  'activation/backward/grad-transform.ts':
    "the builder of gradSparsity's pruner, installed once when src/sparse/grad-pruner.ts loads (a registry, not a setting)",
  'activation/execution/fork.ts': 'whether the fork kernel is registered yet (once per process)',
  'engine/tape.ts': 'stock gradient functions captured on first use (a cache)',
  'data/mnist.ts': 'the MNIST file once read (a cache)',
  'engine/backend.ts':
    'the wasm backend package once imported (a cache); the Node threaded-wasm starter (installed once)',
  'parallel/threaded-wasm.ts':
    'whether the Worker shim is installed and the threaded build started (once per process)',
  'wasm/module.ts': 'the compiled integer-kernel module, or why it failed (a cache)',
  'wasm/assembly/act-range.ts':
    "a group's min and max handed from the range pass to the quantizer (per call)",
  'wasm/assembly/act-exact.ts':
    "the screen's smallest fraction over four words, within one kernel call (per call)",
  'pipeline/stage-runner.ts':
    "a counter that gives each stage runner's weight variables distinct names (not a setting)",
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

describe('process-wide settings (engine/settings.ts)', () => {
  it('backward chunk bytes: set and read in one place, checked, and what the layers chunk by', () => {
    const before = backwardChunkBytes();
    try {
      setBackwardChunkBytes(4096);
      assert.equal(backwardChunkBytes(), 4096);
      assert.equal(rowsPerChunk(100, 1024), 4);
      setBackwardChunkBytes(1 << 20);
      assert.equal(rowsPerChunk(100, 1024), 100);
      assert.throws(
        () => setBackwardChunkBytes(0),
        /backward chunk bytes must be a positive number, got 0/,
      );
      assert.equal(
        frugal.setBackwardChunkBytes,
        setBackwardChunkBytes,
        'the public name is the setting',
      );
    } finally {
      setBackwardChunkBytes(before);
    }
  });

  it('the activation random stream restarts from its seed', () => {
    const draws = () => [nextRng()(), nextRng()()];
    seedActivationRng(3);
    const a = draws();
    seedActivationRng(4);
    const b = draws();
    seedActivationRng(3);
    assert.deepEqual(draws(), a);
    assert.notDeepEqual(a, b);
    assert.notEqual(a[0], a[1], 'each draw of the stream gets its own generator');
  });

  it('records whether the fast kernels are installed', () => {
    const was = fastKernelsActive();
    try {
      useFastKernels();
      assert.equal(fastKernelsActive(), true);
      assert.equal(frugal.fastKernelsActive(), true);
      useStockKernels();
      assert.equal(fastKernelsActive(), false);
    } finally {
      if (was) useFastKernels();
    }
  });

  it('no other module keeps process-wide state in a module-level let', () => {
    const src = join(process.cwd(), 'src');
    const found = sourceFiles(src)
      .map((f) => relative(src, f))
      .filter((f) => f !== 'engine/settings.ts' && !(f in NOT_SETTINGS))
      .filter((f) => /^(export )?let /m.test(readFileSync(join(src, f), 'utf8')));
    assert.deepEqual(
      found,
      [],
      'a process-wide setting goes to src/engine/settings.ts; a cache or per-call state goes into NOT_SETTINGS here with its reason',
    );
    for (const f of Object.keys(NOT_SETTINGS))
      assert.match(readFileSync(join(src, f), 'utf8'), /^let /m, `${f} is listed but has no let`);
  });
});
