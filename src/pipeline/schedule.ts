// Pipeline schedules: the order in which one pipeline stage runs the forwards (F), backwards (B)
// and weight updates (U) of a run of batches split into microbatches, and which weight version
// each microbatch uses. Pure (no tensors): the workers execute these lists, the simulator times
// them, the tests check their invariants.

/**
 * '2bw': PipeDream-2BW. 1F1B over the whole stream of microbatches (no flush between batches);
 * batch b's microbatches all use weight version max(0, b - 1) (versions count updates), so the
 * update is W(b+1) = W(b) - lr * grad(W(b-1)): gradients one step stale. Two versions per stage.
 * 'flush': PipeDream-Flush. 1F1B inside each batch, the pipeline drains before the update; batch
 * b uses version b: plain (synchronous) training with gradient accumulation.
 * 'gpipe': GPipe. Every forward of the batch, then every backward; synchronous like 'flush', but
 * a stage holds all m microbatches' activations at once.
 */
export const PIPELINE_MODES = ['2bw', 'flush', 'gpipe'] as const;
export type PipelineMode = (typeof PIPELINE_MODES)[number];

export type PipeOp =
  /** Forward of global microbatch `mb` (of batch `batch`) on weight version `version`. */
  | { kind: 'F'; mb: number; batch: number; version: number }
  /** Backward of microbatch `mb`, on the version its forward used (weight stashing). */
  | { kind: 'B'; mb: number; batch: number; version: number }
  /** Applies batch `batch`'s coalesced gradient; creates version `version` (= updates so far). */
  | { kind: 'U'; batch: number; version: number };

/** The weight version every microbatch of batch `batch` (0-based, counted over the run) uses. */
export function batchVersion(mode: PipelineMode, batch: number): number {
  return mode === '2bw' ? Math.max(0, batch - 1) : batch;
}

function checkCounts(stage: number, stages: number, microbatches: number, batches: number): void {
  for (const [name, v, min] of [
    ['stages', stages, 1],
    ['microbatches', microbatches, 1],
    ['batches', batches, 0],
  ] as const) {
    if (!Number.isInteger(v) || v < min)
      throw new Error(`pipeline schedule: ${name} must be an integer >= ${min}, got ${v}`);
  }
  if (!Number.isInteger(stage) || stage < 0 || stage >= stages)
    throw new Error(`pipeline schedule: stage ${stage} does not exist (have ${stages})`);
}

/**
 * The least microbatches per batch a 2BW pipeline of `stages` stages needs: stage 0 runs
 * `stages - 1` forwards ahead of its backwards, and the first forward of batch b must come after
 * the last backward of batch b - 2 (whose update makes the version batch b uses).
 */
export function min2bwMicrobatches(stages: number): number {
  return Math.max(1, stages - 1);
}

/**
 * The ops stage `stage` (0-based, of `stages`) runs for `batches` batches of `microbatches`
 * microbatches each, starting at global batch `firstBatch` (so versions continue across runs;
 * microbatch indices restart at `firstBatch * microbatches`).
 */
export function stageSchedule(
  mode: PipelineMode,
  stage: number,
  stages: number,
  microbatches: number,
  batches: number,
  firstBatch = 0,
): PipeOp[] {
  checkCounts(stage, stages, microbatches, batches);
  if (mode === '2bw' && microbatches < min2bwMicrobatches(stages))
    throw new Error(
      `PipeDream-2BW with ${stages} stages needs at least ${min2bwMicrobatches(stages)} microbatches per batch, got ${microbatches}`,
    );
  const m = microbatches;
  const batchOf = (k: number) => Math.floor(k / m);
  const f = (k: number): PipeOp => ({
    kind: 'F',
    mb: k,
    batch: batchOf(k),
    version: batchVersion(mode, batchOf(k)),
  });
  const b = (k: number): PipeOp => ({
    kind: 'B',
    mb: k,
    batch: batchOf(k),
    version: batchVersion(mode, batchOf(k)),
  });
  const ops: PipeOp[] = [];
  const pushB = (k: number) => {
    ops.push(b(k));
    if ((k + 1) % m === 0) ops.push({ kind: 'U', batch: batchOf(k), version: batchOf(k) + 1 });
  };
  /** 1F1B over microbatches [from, to). */
  const oneFOneB = (from: number, to: number) => {
    const n = to - from;
    const warm = Math.min(stages - 1 - stage, n);
    for (let i = 0; i < warm; i++) ops.push(f(from + i));
    for (let i = 0; i < n - warm; i++) {
      ops.push(f(from + warm + i));
      pushB(from + i);
    }
    for (let i = n - warm; i < n; i++) pushB(from + i);
  };
  const first = firstBatch * m;
  if (mode === '2bw') oneFOneB(first, first + batches * m);
  else
    for (let j = 0; j < batches; j++) {
      const from = first + j * m;
      if (mode === 'flush') oneFOneB(from, from + m);
      else {
        for (let k = from; k < from + m; k++) ops.push(f(k));
        for (let k = from; k < from + m; k++) pushB(k);
      }
    }
  return ops;
}

/** What `checkSchedule` found for one stage. */
export interface VersionReport {
  /** Most weight versions the stage holds at once (the latest plus stashed ones). */
  maxVersions: number;
  /** Most microbatches whose activations the stage holds at once (forward done, backward not). */
  maxInFlight: number;
}

/**
 * Replays one stage's ops and checks the weight-version rules: every op's version exists when it
 * runs (it was made by an earlier update, or is version 0), the backward of a microbatch uses its
 * forward's version, every forward gets its backward, updates come in order. The versions held at
 * a point: the latest one, those an in-flight microbatch stashed, and existing ones a later
 * forward will use. Throws on a broken rule.
 */
export function checkSchedule(ops: PipeOp[], startVersion = 0): VersionReport {
  // The least version any forward at or after position i uses.
  const futureMin = new Array<number>(ops.length + 1).fill(Number.POSITIVE_INFINITY);
  for (let i = ops.length - 1; i >= 0; i--) {
    const op = ops[i];
    futureMin[i] = op.kind === 'F' ? Math.min(op.version, futureMin[i + 1]) : futureMin[i + 1];
  }
  let latest = startVersion;
  const inFlight = new Map<number, number>();
  let maxVersions = 1;
  let maxInFlight = 0;
  for (const [i, op] of ops.entries()) {
    if (op.kind === 'U') {
      if (op.version !== latest + 1)
        throw new Error(`update of batch ${op.batch} makes version ${op.version} after ${latest}`);
      latest = op.version;
    } else if (op.kind === 'F') {
      if (op.version > latest)
        throw new Error(
          `forward of microbatch ${op.mb} uses version ${op.version} before it exists (latest ${latest})`,
        );
      if (inFlight.has(op.mb)) throw new Error(`microbatch ${op.mb} forwarded twice`);
      inFlight.set(op.mb, op.version);
    } else {
      const v = inFlight.get(op.mb);
      if (v === undefined) throw new Error(`backward of microbatch ${op.mb} before its forward`);
      if (v !== op.version)
        throw new Error(
          `microbatch ${op.mb}: forward on version ${v}, backward on version ${op.version}`,
        );
      inFlight.delete(op.mb);
    }
    const held = new Set([latest, ...inFlight.values()]);
    for (let v = futureMin[i + 1]; v < latest; v++) held.add(v);
    maxVersions = Math.max(maxVersions, held.size);
    maxInFlight = Math.max(maxInFlight, inFlight.size);
  }
  if (inFlight.size > 0)
    throw new Error(`microbatches ${[...inFlight.keys()].join(', ')} never ran their backward`);
  return { maxVersions, maxInFlight };
}
