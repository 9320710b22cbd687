// A discrete-event simulator of pipelined (GPipe, PipeDream-Flush 1F1B, PipeDream-2BW) and
// data-parallel training: d workers, m microbatches, per-stage compute times, links of given
// bandwidth and latency. Each worker runs its ops in schedule order (schedule.ts); an op starts
// when its worker is free and its input has arrived; a transfer occupies its link for
// bytes / bandwidth and arrives `latencyMs` after it leaves. Pure (no tensors, no clocks).
import { type PipelineMode, stageSchedule } from './schedule.js';

export interface SimStage {
  /** Forward of one microbatch, ms. */
  fwdMs: number;
  /** Backward of one microbatch, ms. */
  bwdMs: number;
  /** The weight update after a batch, ms (default 0). */
  updateMs?: number;
  /** Bytes of the activation it sends to the next stage per microbatch (its gradient comes back). */
  outputBytes: number;
}

export interface LinkSpec {
  /** Bytes per second one direction of a link carries (Infinity: no transfer time). */
  bandwidthBytesPerSec: number;
  /** One-way latency of a message, ms. */
  latencyMs: number;
}

export interface PipelineSimOptions {
  mode: PipelineMode;
  stages: SimStage[];
  microbatches: number;
  batches: number;
  link: LinkSpec;
  /**
   * Multiplies every compute time: > 1 when the workers share fewer cores than there are workers
   * (e.g. 2 workers on 1 free core: 2). Default 1.
   */
  computeScale?: number;
}

export interface SimResult {
  /** From the first op to the last, ms. */
  totalMs: number;
  msPerBatch: number;
  /** Time each worker computed, ms. */
  busyMs: number[];
  /** 1 - busy / (workers x total): the share of worker time spent idle. */
  bubbleFraction: number;
}

function checkLink(link: LinkSpec): void {
  if (!(link.bandwidthBytesPerSec > 0))
    throw new Error(`link bandwidth must be positive, got ${link.bandwidthBytesPerSec}`);
  if (!(link.latencyMs >= 0) || !Number.isFinite(link.latencyMs))
    throw new Error(`link latency must be a non-negative number of ms, got ${link.latencyMs}`);
}

function checkScale(scale: number): void {
  if (!(scale > 0) || !Number.isFinite(scale))
    throw new Error(`computeScale must be a positive number, got ${scale}`);
}

/** Milliseconds a message of `bytes` occupies a link. */
export function transferMs(bytes: number, link: LinkSpec): number {
  return link.bandwidthBytesPerSec === Number.POSITIVE_INFINITY
    ? 0
    : (bytes / link.bandwidthBytesPerSec) * 1000;
}

/** Simulates `batches` batches through a pipeline; see the module comment. */
export function simulatePipeline(options: PipelineSimOptions): SimResult {
  const { mode, stages, microbatches: m, batches, link } = options;
  const scale = options.computeScale ?? 1;
  checkLink(link);
  checkScale(scale);
  const d = stages.length;
  if (d < 1) throw new Error('simulatePipeline: no stages');
  for (const [i, s] of stages.entries()) {
    for (const k of ['fwdMs', 'bwdMs', 'outputBytes'] as const)
      if (!(s[k] >= 0) || !Number.isFinite(s[k]))
        throw new Error(`stage ${i}: ${k} must be a non-negative number, got ${s[k]}`);
  }
  const ops = stages.map((_, s) => stageSchedule(mode, s, d, m, batches));
  const next = new Array<number>(d).fill(0);
  const free = new Array<number>(d).fill(0);
  const busy = new Array<number>(d).fill(0);
  // Arrival time at stage s of microbatch mb's activation (from s - 1) and gradient (from s + 1).
  const actAt = stages.map(() => new Map<number, number>());
  const gradAt = stages.map(() => new Map<number, number>());
  const linkFwd = new Array<number>(d).fill(0);
  const linkBwd = new Array<number>(d).fill(0);
  const send = (lane: number[], i: number, at: number, bytes: number) => {
    const start = Math.max(at, lane[i]);
    const t = transferMs(bytes, link);
    lane[i] = start + t;
    return start + t + link.latencyMs;
  };
  let remaining = ops.reduce((a, o) => a + o.length, 0);
  while (remaining > 0) {
    let pick = -1;
    let pickStart = Number.POSITIVE_INFINITY;
    for (let s = 0; s < d; s++) {
      const op = ops[s][next[s]];
      if (op === undefined) continue;
      let ready: number | undefined = 0;
      if (op.kind === 'F' && s > 0) ready = actAt[s].get(op.mb);
      else if (op.kind === 'B' && s < d - 1) ready = gradAt[s].get(op.mb);
      if (ready === undefined) continue;
      const start = Math.max(free[s], ready);
      if (start < pickStart) {
        pickStart = start;
        pick = s;
      }
    }
    if (pick < 0) throw new Error('simulatePipeline: the schedule deadlocked (a bug)');
    const s = pick;
    const op = ops[s][next[s]++];
    remaining--;
    const st = stages[s];
    const dur =
      scale * (op.kind === 'F' ? st.fwdMs : op.kind === 'B' ? st.bwdMs : (st.updateMs ?? 0));
    const end = pickStart + dur;
    free[s] = end;
    busy[s] += dur;
    if (op.kind === 'F' && s < d - 1)
      actAt[s + 1].set(op.mb, send(linkFwd, s, end, st.outputBytes));
    if (op.kind === 'B' && s > 0)
      gradAt[s - 1].set(op.mb, send(linkBwd, s - 1, end, stages[s - 1].outputBytes));
  }
  const totalMs = Math.max(...free);
  const busyTotal = busy.reduce((a, b) => a + b, 0);
  return {
    totalMs,
    msPerBatch: batches > 0 ? totalMs / batches : 0,
    busyMs: busy,
    bubbleFraction: totalMs > 0 ? 1 - busyTotal / (d * totalMs) : 0,
  };
}

export interface DataParallelSimOptions {
  workers: number;
  /** Forward and backward of one worker's shard of a batch, ms. */
  computeMs: number;
  /** Bytes of the gradient every worker contributes. */
  gradientBytes: number;
  /** The optimizer update after the exchange, ms (a sharded optimizer: of one worker's share). */
  updateMs: number;
  batches: number;
  link: LinkSpec;
  computeScale?: number;
}

/**
 * Ring all-reduce of `bytes` over `workers`: 2 (p - 1) rounds, each moving bytes / p over every
 * link at once and paying one latency (reduce-scatter then all-gather).
 */
export function ringAllReduceMs(bytes: number, workers: number, link: LinkSpec): number {
  checkLink(link);
  if (workers <= 1) return 0;
  return 2 * (workers - 1) * (link.latencyMs + transferMs(bytes / workers, link));
}

/** Synchronous data parallelism: compute, all-reduce the gradient, update, per batch. */
export function simulateDataParallel(options: DataParallelSimOptions): SimResult {
  const { workers, computeMs, gradientBytes, updateMs, batches, link } = options;
  const scale = options.computeScale ?? 1;
  checkScale(scale);
  if (!Number.isInteger(workers) || workers < 1)
    throw new Error(`simulateDataParallel: workers must be a positive integer, got ${workers}`);
  const exchange = ringAllReduceMs(gradientBytes, workers, link);
  const compute = scale * (computeMs + updateMs);
  const perBatch = compute + exchange;
  const totalMs = perBatch * batches;
  return {
    totalMs,
    msPerBatch: perBatch,
    busyMs: new Array<number>(workers).fill(compute * batches),
    bubbleFraction: perBatch > 0 ? exchange / perBatch : 0,
  };
}

/** |predicted - measured| / measured, in percent. */
export function errorPct(predicted: number, measured: number): number {
  return (Math.abs(predicted - measured) / measured) * 100;
}
