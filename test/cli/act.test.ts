import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildCli } from '../../src/cli/program.js';
import { tempDir } from '../temp-dir.js';

const dir = tempDir('frugal-act-cli-');

/** Runs the CLI in this process; returns what it printed and the error message, if any. */
async function cli(...args: string[]): Promise<{ stdout: string; error: string }> {
  const program = buildCli().exitOverride();
  let error = '';
  const out: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => out.push(a.join(' '));
  program.configureOutput({ writeErr: (s) => (error += s), writeOut: (s) => out.push(s) });
  for (const c of program.commands) {
    c.exitOverride();
    c.configureOutput({ writeErr: (s) => (error += s), writeOut: (s) => out.push(s) });
  }
  try {
    await program.parseAsync(['node', 'frugal', ...args]);
  } catch (e) {
    error += (e as Error).message;
  } finally {
    console.log = log;
  }
  return { stdout: out.join('\n'), error };
}

describe('frugal CLI: compressed activations', () => {
  it('trains the CNN with 2-bit activations on wasm and records the conversion', async () => {
    const out = join(dir, 'cnn.json');
    const r = await cli(
      ...['train', '--model', 'cnn', '--dataset', 'mnist', '--train-count', '48'],
      ...['--test-count', '16', '--batch', '16', '--act-bits', '2', '--backend', 'wasm'],
      ...['--forward-chunk', '6', '--out', out, '--no-progress'],
    );
    assert.equal(r.error, '');
    assert.match(r.stdout, /cnn \(2-bit, chunks of 6\)/);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(report.activations.unconverted.length, 0);
    assert.ok(report.activations.converted.every((c: { actBits: number }) => c.actBits === 2));
    assert.ok(report.result.memory.savedActivationBytes > 0);
    assert.equal(report.activations.forwardChunkRows, 6);
  });

  it('mixed precision with per-sample bits and few-bit + RMM run on the Transformer', async () => {
    const out = join(dir, 'tr.json');
    const r = await cli(
      ...['train', '--model', 'transformer', '--dataset', 'mnist', '--train-count', '16'],
      ...['--test-count', '8', '--batch', '8', '--act-level', 'L3.mixed', '--fewbit', '2'],
      ...['--rmm', '0.5', '--per-sample-bits', '--backend', 'wasm', '--out', out, '--no-progress'],
    );
    assert.equal(r.error, '');
    assert.match(r.stdout, /per-sample bits/);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(report.activations.config.perSample, true);
    const bits = Object.values(report.activations.mixedBits) as number[];
    assert.ok(bits.length > 3 && bits.every((b) => [1, 2, 4, 8].includes(b)));
  });

  it('--baseline trains the plain model and the L0 layers first and prints all rows with comparisons', async () => {
    const out = join(dir, 'baseline.json');
    const r = await cli(
      ...['train', '--model', 'mlp', '--dataset', 'synthetic', '--batch', '32', '--act-bits', '2'],
      ...['--baseline', '--backend', 'cpu', '--out', out, '--no-progress'],
    );
    assert.equal(r.error, '');
    assert.match(r.stdout, /mlp \(2-bit\)/);
    assert.match(r.stdout, /vs the plain run: saved activations [\d.]+x smaller, step peak/);
    assert.match(r.stdout, /mlp \(L0/);
    assert.match(
      r.stdout,
      /vs frugal's layers with float32 saves \(L0\): saved activations [\d.]+x smaller, step peak/,
    );
    const report = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(report.baseline.activations, undefined);
    assert.equal(report.l0Baseline.activations.config.level, 'L0');
    assert.equal(report.l0Baseline.activations.config.bits, null);
    assert.equal(report.l0Baseline.result.config.seed, report.result.config.seed);
    assert.ok(
      report.result.memory.savedActivationBytes <
        report.l0Baseline.result.memory.savedActivationBytes,
    );
    assert.equal(report.activations.config.bits, 2);
    assert.equal(report.baseline.result.config.seed, report.result.config.seed);
    assert.ok(
      report.result.memory.savedActivationBytes <
        report.baseline.result.memory.savedActivationBytes,
    );
  });

  it('act-report prints per-layer bytes and gradient error', async () => {
    const out = join(dir, 'act.json');
    const r = await cli(
      ...['act-report', '--model', 'mlp', '--batch', '8', '--act-level', 'L3'],
      ...['--backend', 'cpu', '--out', out],
    );
    assert.equal(r.error, '');
    assert.match(r.stdout, /grad rel err/);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    for (const l of report.layers.filter(
      (x: { gradRelError: number | null }) => x.gradRelError !== null,
    ))
      assert.ok(l.gradRelError > 0 && l.gradRelError < 5, `${l.name}: ${l.gradRelError}`);
  });

  const bad: [string[], RegExp][] = [
    [['train', '--act-bits', '3'], /expected activation bits 1, 2, 4, 8 or 32, got '3'/],
    [['train', '--act-level', 'L7'], /unknown activation level 'L7'/],
    [['train', '--rmm', '1.5'], /expected a ratio in \(0, 1\], got '1.5'/],
    [['act-report', '--fewbit', '5'], /expected few-bit bits 1, 2, 3 or 4, got '5'/],
    [['train', '--forward-chunk', '0'], /expected 'auto', 'off' or a positive integer/],
  ];
  for (const [args, message] of bad) {
    it(`rejects ${args.join(' ')}`, async () => {
      const out = join(dir, 'bad.json');
      const r = await cli(...args, '--out', out);
      assert.match(r.error, message);
      assert.equal(existsSync(out), false);
    });
  }
});
