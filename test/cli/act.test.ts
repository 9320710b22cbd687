import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'frugal-act-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      timeout: 120_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('frugal CLI: compressed activations', () => {
  it('trains the CNN with 2-bit activations on wasm and records the conversion', async () => {
    const out = join(dir, 'cnn.json');
    const r = await cli(
      ...['train', '--model', 'cnn', '--dataset', 'mnist', '--train-count', '64'],
      ...['--test-count', '32', '--batch', '16', '--act-bits', '2', '--backend', 'wasm'],
      ...['--out', out, '--no-progress'],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /cnn \(2-bit\)/);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(report.activations.unconverted.length, 0);
    assert.ok(report.activations.converted.every((c: { actBits: number }) => c.actBits === 2));
    assert.ok(report.result.memory.savedActivationBytes > 0);
  });

  it('mixed precision and few-bit + RMM run on the Transformer', async () => {
    const out = join(dir, 'tr.json');
    const r = await cli(
      ...['train', '--model', 'transformer', '--dataset', 'mnist', '--train-count', '32'],
      ...['--test-count', '16', '--batch', '16', '--act-level', 'L3.mixed', '--fewbit', '2'],
      ...['--rmm', '0.5', '--backend', 'wasm', '--out', out, '--no-progress'],
    );
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    const bits = Object.values(report.activations.mixedBits) as number[];
    assert.ok(bits.length > 3 && bits.every((b) => [1, 2, 4, 8].includes(b)));
  });

  it('act-report prints per-layer bytes and gradient error', async () => {
    const out = join(dir, 'act.json');
    const r = await cli(
      ...['act-report', '--model', 'mlp', '--batch', '8', '--act-level', 'L3'],
      ...['--backend', 'cpu', '--out', out],
    );
    assert.equal(r.code, 0, r.stderr);
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
    [['train', '--fewbit', '5'], /expected few-bit bits 1, 2, 3 or 4, got '5'/],
  ];
  for (const [args, message] of bad) {
    it(`rejects ${args.slice(1).join(' ')}`, async () => {
      const out = join(dir, 'bad.json');
      const r = await cli(...args, '--out', out, '--no-progress');
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, message);
      assert.equal(existsSync(out), false);
    });
  }
});
