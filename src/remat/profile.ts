import * as tf from '@tensorflow/tfjs';
import { computesOnCallingThread } from '../engine/backend.js';
import { runWithoutTape } from '../engine/tape.js';
import { BufferMeter } from '../report/buffer-meter.js';
import { externalMemory } from '../report/external-memory.js';
import { median } from '../report/median.js';
import { tensorBytes } from '../report/memory-meter.js';
import { resolveLoss } from '../train/loss.js';
import type { TaskProgressCallback } from '../train/progress.js';
import { taskReporter } from '../train/task-reporter.js';
import type { Chain, Stage } from './chain.js';
import type { ChainCosts, KeepMode, StageCost } from './costs.js';
import { checkTapeBits, type RecordedStage, recordStage } from './record-stage.js';

export interface ProfileOptions {
  /** Timed repetitions of each measurement (after one warm-up); the median is kept. */
  repeats?: number;
  /** Compressed keep modes to measure besides exact: bit widths, e.g. [8, 4, 2]. */
  compressedBits?: number[];
  /**
   * The optimizer the training uses: its update's transient buffers are part of the step's
   * peak. A fresh copy is built from its config; the original is not touched. Default: Adam.
   */
  optimizer?: tf.Optimizer;
  /** Called as each stage is measured (a task of `chain.stages.length` units). */
  onProgress?: TaskProgressCallback;
  /** Names the chain in progress events, e.g. 'blocks chain'. */
  label?: string;
  /**
   * How stage times are read: 'wall' (performance.now), 'cpu' (the process's CPU time, Node) or
   * 'auto' (default): CPU time in Node where the backend computes on the calling thread alone
   * (cpu, single-thread wasm), else wall. On a machine other processes load, wall-clock stage
   * times of a few ms are mostly scheduling: the differences between keep modes (what the
   * planner trades) drown in it, and compression looked 1.5-2x dearer than it is.
   */
  clock?: ProfileClock;
}

export interface ChainProfile {
  costs: ChainCosts;
  backend: string;
  batchSize: number;
  repeats: number;
  /** The clock the stage times were read with. */
  clock: 'wall' | 'cpu';
  /** Parts of `costs.fixedBytes`. */
  lossBytes: number;
  outputBytes: number;
  updateBytes: number;
}

/** Runs `f` under a fresh buffer meter (tensor buffers plus tracked external bytes). */
function metered<T>(f: () => T): { value: T; peak: number; retained: number } {
  const meter = new BufferMeter();
  const ext0 = externalMemory.live;
  const value = meter.run(f);
  return {
    value,
    peak: meter.peakWithExternal,
    retained: meter.current + (externalMemory.live - ext0),
  };
}

/** Backends whose kernels finish before the call returns; others are waited for by reading data. */
const SYNCHRONOUS_BACKENDS = new Set(['cpu', 'wasm', 'tensorflow']);

/**
 * Waits until the backend has finished computing `ts` (a no-op on synchronous backends): on
 * webgl/webgpu a kernel call only queues work, so a timer stopped without this measures nothing.
 */
export function settle(ts: tf.Tensor[]): void {
  if (SYNCHRONOUS_BACKENDS.has(tf.getBackend())) return;
  for (const t of ts) if (!t.isDisposed) t.dataSync();
}

/** The clock stage times are read with (ProfileOptions.clock). */
export type ProfileClock = 'auto' | 'wall' | 'cpu';

/** Milliseconds of process CPU time since `start` (Node's process.cpuUsage). */
function cpuMs(start?: NodeJS.CpuUsage): { ms: number; usage: NodeJS.CpuUsage } {
  const usage = process.cpuUsage(start);
  return { ms: (usage.user + usage.system) / 1000, usage };
}

const hasCpuClock = () => typeof process !== 'undefined' && typeof process.cpuUsage === 'function';

/**
 * Whether `clock` reads CPU time: 'cpu' (Node only), or 'auto' where the process's CPU time is
 * the stage's compute time (Node, a backend that computes on the calling thread alone).
 */
export function usesCpuClock(clock: ProfileClock): boolean {
  if (clock === 'wall') return false;
  if (clock === 'cpu') {
    if (!hasCpuClock()) throw new Error("profile clock 'cpu' needs Node's process.cpuUsage");
    return true;
  }
  return hasCpuClock() && computesOnCallingThread();
}

/** Milliseconds `f` takes, with the backend's work on the tensors `done` picks finished. */
function clock<T>(f: () => T, done: (v: T) => tf.Tensor[], cpu: boolean): { ms: number; value: T } {
  if (cpu) {
    const c0 = cpuMs().usage;
    const value = f();
    settle(done(value));
    return { ms: cpuMs(c0).ms, value };
  }
  const t0 = performance.now();
  const value = f();
  settle(done(value));
  return { ms: performance.now() - t0, value };
}

/**
 * Times and measures one stage. Time: `repeats` rounds after a warm-up round; each round runs the
 * forward without recording and, per keep mode, a recorded forward then its backward, back to back,
 * so load from other processes hits every variant alike. A compressed mode's times are the exact
 * mode's medians plus the median over rounds of its own extra time (clamped at 0), so noise cannot
 * make compression look free. Memory: one metered recorded forward and one metered backward per
 * mode.
 */
function measureStage(
  stage: Stage,
  x: tf.Tensor,
  carried: tf.Tensor[],
  allBits: number[],
  repeats: number,
  seed: number,
  cpu: boolean,
): { fwdMs: number; keep: KeepMode[] } {
  const wrt = stage.index === 0 ? stage.variables : [x, ...carried, ...stage.variables];
  const record = (bits: number) => recordStage(stage, x, true, bits, seed, carried);
  const forward = () => stage.run(x, true, true, undefined, carried);
  const backward = (rec: RecordedStage, dy: tf.Tensor) =>
    wrt.length > 0 ? rec.backward(dy, wrt) : [];
  const dy = tf.tidy(() => tf.onesLike(forward()));
  const fwd: number[] = [];
  const all = allBits.map(() => [] as number[]);
  const bwd = allBits.map(() => [] as number[]);
  for (let r = 0; r <= repeats; r++) {
    const f = clock(
      () => runWithoutTape(forward),
      (y) => [y],
      cpu,
    );
    f.value.dispose();
    if (r > 0) fwd.push(f.ms);
    allBits.forEach((bits, m) => {
      const rec = clock(
        () => record(bits),
        (t) => [t.output],
        cpu,
      );
      const back = clock(
        () => backward(rec.value, dy),
        (g) => g,
        cpu,
      );
      rec.value.dispose();
      tf.dispose([rec.value.output, ...back.value]);
      if (r > 0) {
        all[m].push(rec.ms);
        bwd[m].push(back.ms);
      }
    });
  }
  const keep = allBits.map((bits, m): KeepMode => {
    const rec = metered(() => record(bits));
    const back = metered(() => backward(rec.value, dy));
    rec.value.dispose();
    rec.value.output.dispose();
    tf.dispose(back.value);
    const extra = (xs: number[], base: number[]) =>
      m === 0 ? 0 : Math.max(0, median(xs.map((v, r) => v - base[r])));
    return {
      bits,
      allMs: median(all[0]) + extra(all[m], all[0]),
      bwdMs: median(bwd[0]) + extra(bwd[m], bwd[0]),
      tapeBytes: rec.retained,
      allPeakBytes: rec.peak,
      bwdPeakBytes: Math.max(0, back.peak - stage.weightBytes),
    };
  });
  dy.dispose();
  return { fwdMs: median(fwd), keep };
}

/** Transient bytes of one optimizer update, measured on a fresh optimizer and copied weights. */
function updateBytes(chain: Chain, optimizer: tf.Optimizer | undefined): number {
  const fresh = optimizer
    ? tf.serialization.SerializationMap.getMap().classNameMap[optimizer.getClassName()]
    : undefined;
  const opt: tf.Optimizer =
    fresh !== undefined && optimizer !== undefined
      ? (fresh[1](fresh[0], optimizer.getConfig()) as tf.Optimizer)
      : tf.train.adam(1e-3);
  const vars = chain.variables.map((v) => tf.variable(v, true));
  const grads: tf.NamedTensorMap = {};
  vars.forEach((v) => {
    grads[v.name] = tf.zerosLike(v);
  });
  const first = metered(() => opt.applyGradients(grads));
  const second = metered(() => opt.applyGradients(grads));
  tf.dispose([...vars, ...Object.values(grads)]);
  opt.dispose();
  return Math.max(second.peak, first.peak - first.retained, 0);
}

/**
 * Measures every stage of a chain on the active backend with a real batch: forward time without
 * recording, recorded-forward and backward times (per keep mode), the bytes a checkpoint of its
 * input costs, the bytes its tape keeps, and the transient peaks of each, all counted by the
 * memory meter's buffer accounting. Leaves the model's weights and statistics unchanged.
 */
export function profileChain(
  chain: Chain,
  batch: { xs: tf.Tensor; ys: tf.Tensor },
  options: ProfileOptions = {},
): ChainProfile {
  const repeats = options.repeats ?? 3;
  const clockName = options.clock ?? 'auto';
  if (!['auto', 'wall', 'cpu'].includes(clockName))
    throw new Error(`profile clock must be 'auto', 'wall' or 'cpu', got '${String(clockName)}'`);
  const cpu = usesCpuClock(clockName);
  if (!Number.isInteger(repeats) || repeats < 1)
    throw new Error(`profile repeats must be a positive integer, got ${repeats}`);
  const compressed = options.compressedBits ?? [];
  for (const b of compressed)
    if (checkTapeBits(b) === 32)
      throw new Error('compressedBits must not list 32 (exact is always measured)');
  // Each stage's input: its main tensor and its carried tensors (shared with earlier entries).
  const inputs: { x: tf.Tensor; carried: tf.Tensor[] }[] = [{ x: batch.xs, carried: [] }];
  const stages: StageCost[] = [];
  const lossFn = resolveLoss(chain.model);
  const n = chain.stages.length;
  const tick = taskReporter(
    options.onProgress,
    `profiling ${n} stage${n === 1 ? '' : 's'}${options.label ? ` (${options.label})` : ''}`,
    n,
  );
  try {
    chain.stages.forEach((stage, i) => {
      const { x, carried } = inputs[i];
      const fwd = metered(() => runWithoutTape(() => stage.run(x, true, true, undefined, carried)));
      const available = new Map([[stage.input.id, x]]);
      stage.carried.forEach((c, j) => {
        available.set(c.id, carried[j]);
      });
      inputs.push({ x: fwd.value, carried: stage.carriedOut.map((c) => available.get(c.id)!) });
      const { fwdMs, keep } = measureStage(
        stage,
        x,
        carried,
        [32, ...compressed],
        repeats,
        1000 * i,
        cpu,
      );
      // A checkpoint of the stage's input holds its carried tensors too (counted per checkpoint:
      // an upper bound when two checkpoints of one block are live at once).
      const bytes = i === 0 ? 0 : [x, ...carried].reduce((a, t) => a + tensorBytes(t), 0);
      stages.push({
        name: stage.name,
        fwdMs,
        inputBytes: bytes,
        gradBytes: bytes,
        fwdPeakBytes: fwd.peak,
        keep,
      });
      tick(stage.name);
    });
    const logits = inputs[inputs.length - 1].x;
    const loss = metered(() => tf.grads((l: tf.Tensor) => lossFn.mean(batch.ys, l))([logits]));
    tf.dispose(loss.value);
    const update = updateBytes(chain, options.optimizer);
    const outputBytes = tensorBytes(logits);
    return {
      costs: { stages, fixedBytes: loss.peak + outputBytes, updateBytes: update },
      backend: tf.getBackend(),
      batchSize: batch.xs.shape[0],
      repeats,
      clock: cpu ? 'cpu' : 'wall',
      lossBytes: loss.peak,
      outputBytes,
      updateBytes: update,
    };
  } finally {
    tf.dispose(inputs.slice(1).map((e) => e.x));
  }
}
