import cliProgress from 'cli-progress';
import type { ProgressCallback } from '../train/progress.js';

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
