import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export interface TorchResult {
  threads: number;
  msPerStep: number;
  samplesPerSecond: number;
}

/**
 * Times the zoo CNN's training step in PyTorch (bench/lib/torch_cnn.py) at `batch` with `threads`
 * threads, or returns the reason it could not run (torch not importable).
 */
export function torchCnn(batch: number, threads: number, steps = 10): TorchResult | string {
  const script = join(here, 'torch_cnn.py');
  const errors: string[] = [];
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      const out = execFileSync(
        python,
        [script, '--batch', String(batch), '--threads', String(threads), '--steps', String(steps)],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 },
      );
      const r = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { msPerStep: number };
      return { threads, msPerStep: r.msPerStep, samplesPerSecond: (batch * 1000) / r.msPerStep };
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      errors.push(`${python}: ${(err.stderr || err.message).trim().split('\n').pop()}`);
    }
  }
  return `skipped: torch not importable (${errors.join('; ')})`;
}
