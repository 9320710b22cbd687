// The progress line of `frugal train --time-budget`: a bar on wall time (elapsed of the budget)
// rather than on steps, with the epoch, step and loss; epoch results as lines, as progressBar does.
import type { ProgressCallback } from '../train/progress.js';
import type { LineStream } from './progress-bar.js';

const WIDTH = 20;

/** The bar text for `elapsedMs` of `budgetMs` (exported for tests). */
export function timeBarText(elapsedMs: number, budgetMs: number, detail: string): string {
  const f = Math.min(1, Math.max(0, elapsedMs / budgetMs));
  const filled = Math.round(WIDTH * f);
  const s = (ms: number) => (ms / 1000).toFixed(1);
  return `time [${'='.repeat(filled)}${' '.repeat(WIDTH - filled)}] ${s(Math.min(elapsedMs, budgetMs))}/${s(budgetMs)} s | ${detail}`;
}

/**
 * Draws training progress against a wall-clock budget on `stream` (stderr): the bar is redrawn in
 * place after every step when `live` (a terminal); epoch results are written as lines either way.
 */
export function timeProgress(
  live: boolean,
  budgetMs: number,
  stream: LineStream = process.stderr,
  now: () => number = () => performance.now(),
): { onProgress: ProgressCallback; stop: () => void } {
  const start = now();
  let open = false;
  const end = () => {
    if (open) stream.write('\n');
    open = false;
  };
  return {
    onProgress: (e) => {
      if (e.kind === 'step') {
        if (!live) return;
        const detail = `epoch ${e.epoch}, step ${e.step}/${e.steps} | loss ${e.loss.toFixed(4)}`;
        stream.write(`\r\x1b[2K${timeBarText(now() - start, budgetMs, detail)}`);
        open = true;
      } else if (e.kind === 'epoch-end') {
        end();
        stream.write(
          `epoch ${e.epoch}: loss ${e.meanLoss.toFixed(4)}, test accuracy ${(e.testAccuracy * 100).toFixed(2)}% (${((now() - start) / 1000).toFixed(1)} s of ${(budgetMs / 1000).toFixed(1)} s)\n`,
        );
      }
    },
    stop: end,
  };
}
