import type { TaskProgressCallback } from './progress.js';

/** Reports a task of `total` units to `onProgress` (a no-op when absent): start (done 0), then one call per finished unit. */
export function taskReporter(
  onProgress: TaskProgressCallback | undefined,
  task: string,
  total: number,
): (item?: string) => void {
  let done = 0;
  onProgress?.({ task, done, total });
  return (item) => {
    done = Math.min(total, done + 1);
    onProgress?.({ task, done, total, ...(item === undefined ? {} : { item }) });
  };
}
