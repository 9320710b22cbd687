import type { Op } from './schedule.js';

/**
 * Classic segment checkpointing as a schedule: keep only the input of each segment in the
 * forward, and in the backward re-run each segment recording it, last segment first.
 * `starts` are the first stages of the segments (0 first, increasing, below `stages`).
 */
export function segmentSchedule(stages: number, starts: number[]): Op[] {
  if (!Number.isInteger(stages) || stages < 1)
    throw new Error(`segment schedule: stages must be a positive integer, got ${stages}`);
  if (starts[0] !== 0) throw new Error('segment schedule: the first segment must start at stage 0');
  starts.forEach((s, k) => {
    if (!Number.isInteger(s) || s >= stages || (k > 0 && s <= starts[k - 1]))
      throw new Error(
        `segment schedule: starts must increase within 0..${stages - 1}, got [${starts}]`,
      );
  });
  const ends = [...starts.slice(1), stages];
  const ops: Op[] = [];
  for (let k = 0; k < starts.length - 1; k++) {
    ops.push({ kind: 'fc', stage: starts[k] });
    for (let i = starts[k] + 1; i < ends[k]; i++) ops.push({ kind: 'fn', stage: i });
  }
  for (let k = starts.length - 1; k >= 0; k--) {
    for (let i = starts[k]; i < ends[k]; i++) ops.push({ kind: 'fall', stage: i, mode: 0 });
    for (let i = ends[k] - 1; i >= starts[k]; i--) ops.push({ kind: 'b', stage: i, mode: 0 });
  }
  return ops;
}

/** Segments of about `size` stages each. */
export function evenSegments(stages: number, size: number): number[] {
  if (!Number.isInteger(size) || size < 1)
    throw new Error(`segment size must be a positive integer, got ${size}`);
  const starts: number[] = [];
  for (let s = 0; s < stages; s += size) starts.push(s);
  return starts;
}
