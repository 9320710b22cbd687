import cliProgress from 'cli-progress';
import type { ProgressCallback, TaskProgressCallback } from '../train/progress.js';

/** Whether to draw progress: asked for (`--no-progress` turns it off) and stderr is a terminal. */
export function progressWanted(progress: boolean | undefined): boolean {
  return progress !== false && process.stderr.isTTY === true;
}

/** What a task line writes to: stderr, or a test's stand-in. */
export interface LineStream {
  write(text: string): unknown;
}

const BAR_WIDTH = 20;

/**
 * Draws library task events (profiling, probes, benchmark steps) as one line per task on
 * stderr, redrawn in place as units finish and ended with the task's time; nothing when
 * `enabled` is false.
 */
export function taskLines(
  enabled: boolean,
  stream: LineStream = process.stderr,
): { onProgress: TaskProgressCallback; stop: () => void } {
  let open: string | null = null;
  let started = 0;
  const end = () => {
    if (open !== null) stream.write('\n');
    open = null;
  };
  if (!enabled) return { onProgress: () => {}, stop: () => {} };
  return {
    onProgress: (e) => {
      if (open !== e.task) {
        end();
        open = e.task;
        started = performance.now();
      }
      const filled = e.total > 0 ? Math.round((BAR_WIDTH * e.done) / e.total) : BAR_WIDTH;
      const bar = `[${'='.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}]`;
      const item = e.item === undefined ? '' : ` ${e.item}`;
      const time =
        e.done >= e.total ? ` (${((performance.now() - started) / 1000).toFixed(1)} s)` : '';
      stream.write(`\r\x1b[2K${e.task} ${bar} ${e.done}/${e.total}${item}${time}`);
      if (e.done >= e.total) end();
    },
    stop: end,
  };
}

/** Draws the training loop's progress events as a bar on stderr (nothing when not a TTY). */
export function progressBar(enabled: boolean): { onProgress: ProgressCallback; stop: () => void } {
  if (!enabled) {
    return {
      onProgress: (e) => {
        if (e.kind === 'epoch-end') {
          process.stderr.write(
            `epoch ${e.epoch}/${e.epochs}: loss ${e.meanLoss.toFixed(4)}, test accuracy ${(e.testAccuracy * 100).toFixed(2)}% (${e.seconds.toFixed(1)} s)\n`,
          );
        }
      },
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: 'epoch {epoch} [{bar}] {value}/{total} steps | loss {loss} | {stepMs} ms/step',
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let active = false;
  return {
    onProgress: (e) => {
      if (e.kind === 'epoch-start') {
        bar.start(e.steps, 0, { epoch: `${e.epoch}/${e.epochs}`, loss: '-', stepMs: '-' });
        active = true;
      } else if (e.kind === 'step') {
        bar.update(e.step, { loss: e.loss.toFixed(4), stepMs: e.stepMs.toFixed(0) });
      } else {
        bar.stop();
        active = false;
        process.stderr.write(
          `epoch ${e.epoch}/${e.epochs}: loss ${e.meanLoss.toFixed(4)}, test accuracy ${(e.testAccuracy * 100).toFixed(2)}% (${e.seconds.toFixed(1)} s)\n`,
        );
      }
    },
    stop: () => {
      if (active) bar.stop();
    },
  };
}
