import cliProgress from 'cli-progress';
import type { CompressProgress } from '../compress/registry.js';

/** Draws compression progress (AdaQuant layers, fine-tuning steps) as a bar on stderr. */
export function compressProgressBar(enabled: boolean): {
  onProgress: (e: CompressProgress) => void;
  stop: () => void;
} {
  if (!enabled) return { onProgress: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      format: '{method} [{bar}] {percentage}% | {item}',
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let active: string | null = null;
  return {
    onProgress: (e) => {
      const key = `${e.method}:${e.total}`;
      if (active !== key) {
        if (active) bar.stop();
        bar.start(e.total, e.done, { method: e.method, item: e.item });
        active = key;
      }
      bar.update(e.done, { item: e.item });
    },
    stop: () => {
      if (active) bar.stop();
      active = null;
    },
  };
}
