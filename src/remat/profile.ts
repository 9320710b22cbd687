import * as tf from '@tensorflow/tfjs';
import { BufferMeter } from '../report/buffer-meter.js';
import { externalMemory } from '../report/external-memory.js';
import { tensorBytes } from '../report/memory-meter.js';
import { classificationLoss } from '../train/step.js';
import type { Chain, Stage } from './chain.js';
import type { ChainCosts, KeepMode, StageCost } from './costs.js';
import { backprop, recordTape, runWithoutTape, type StageTape } from './tape.js';
import { type CompressedTape, compressTape } from './tape-compression.js';

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
}

export interface ChainProfile {
  costs: ChainCosts;
  backend: string;
  batchSize: number;
  repeats: number;
  /** Parts of `costs.fixedBytes`. */
  lossBytes: number;
  outputBytes: number;
  updateBytes: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs `f` under a fresh buffer meter (and the external-memory tracker). */
function metered<T>(f: () => T): { value: T; peak: number; retained: number } {
  const meter = new BufferMeter();
  const ext0 = externalMemory.live;
  externalMemory.resetPeak();
  const value = meter.run(f);
  return {
    value,
    peak: meter.peak + (externalMemory.peak - ext0),
    retained: meter.current + (externalMemory.live - ext0),
  };
}

function timed(repeats: number, f: () => void): number {
  f();
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/**
 * Keep modes of one stage. Memory: one metered recorded forward (plus compression) and one
 * metered backward (plus decompression) per mode. Time: the exact mode's recorded forward and
 * backward; a compressed mode adds the measured time of compressing and restoring the tape, so it
 * can never look faster than exact because of timing noise.
 */
function keepModes(
  stage: Stage,
  x: tf.Tensor,
  allBits: number[],
  repeats: number,
  seed: number,
): KeepMode[] {
  const wrt = stage.index === 0 ? stage.variables : [x, ...stage.variables];
  const record = () => recordTape(() => stage.run(x, true, true));
  const backward = (tape: StageTape, dy: tf.Tensor) =>
    wrt.length > 0 ? backprop(tape, dy, wrt) : [];
  const dy = tf.tidy(() => tf.onesLike(stage.run(x, true, true)));
  const exactTimes = { all: [] as number[], bwd: [] as number[] };
  for (let r = 0; r <= repeats; r++) {
    const t0 = performance.now();
    const tape = record();
    const t1 = performance.now();
    const g = backward(tape, dy);
    const t2 = performance.now();
    tape.dispose();
    tape.output.dispose();
    tf.dispose(g);
    if (r > 0) {
      exactTimes.all.push(t1 - t0);
      exactTimes.bwd.push(t2 - t1);
    }
  }
  const modes = allBits.map((bits): KeepMode => {
    const compress = (tape: StageTape) =>
      bits === 32 ? tape : compressTape(tape, bits, seed, stage.variables);
    const restore = (rec: StageTape | CompressedTape) => ('restore' in rec ? rec.restore() : rec);
    const rec = metered(() => compress(record()));
    const back = metered(() => {
      const tape = restore(rec.value);
      return { tape, g: backward(tape, dy) };
    });
    back.value.tape.dispose();
    rec.value.output.dispose();
    tf.dispose(back.value.g);
    let allMs = median(exactTimes.all);
    let bwdMs = median(exactTimes.bwd);
    if (bits !== 32) {
      const c: number[] = [];
      const d: number[] = [];
      for (let r = 0; r <= repeats; r++) {
        const tape = record();
        const t0 = performance.now();
        const packed = compress(tape);
        const t1 = performance.now();
        restore(packed).dispose();
        const t2 = performance.now();
        tape.output.dispose();
        if (r > 0) {
          c.push(t1 - t0);
          d.push(t2 - t1);
        }
      }
      allMs += median(c);
      bwdMs += median(d);
    }
    return {
      bits,
      allMs,
      bwdMs,
      tapeBytes: rec.retained,
      allPeakBytes: rec.peak,
      bwdPeakBytes: Math.max(0, back.peak - stage.weightBytes),
    };
  });
  dy.dispose();
  return modes;
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
  if (!Number.isInteger(repeats) || repeats < 1)
    throw new Error(`profile repeats must be a positive integer, got ${repeats}`);
  const compressed = options.compressedBits ?? [];
  const inputs: tf.Tensor[] = [batch.xs];
  const stages: StageCost[] = [];
  try {
    chain.stages.forEach((stage, i) => {
      const x = inputs[i];
      const fwd = metered(() => runWithoutTape(() => stage.run(x, true, true)));
      inputs.push(fwd.value);
      const fwdMs = timed(repeats, () => {
        runWithoutTape(() => stage.run(x, true, true)).dispose();
      });
      const keep = keepModes(stage, x, [32, ...compressed], repeats, 1000 * i);
      stages.push({
        name: stage.name,
        fwdMs,
        inputBytes: i === 0 ? 0 : tensorBytes(x),
        gradBytes: i === 0 ? 0 : tensorBytes(x),
        fwdPeakBytes: fwd.peak,
        keep,
      });
    });
    const logits = inputs[inputs.length - 1];
    const loss = metered(() =>
      tf.grads((l: tf.Tensor) => classificationLoss(batch.ys, l))([logits]),
    );
    tf.dispose(loss.value);
    const update = updateBytes(chain, options.optimizer);
    const outputBytes = tensorBytes(logits);
    return {
      costs: { stages, fixedBytes: loss.peak + outputBytes, updateBytes: update },
      backend: tf.getBackend(),
      batchSize: batch.xs.shape[0],
      repeats,
      lossBytes: loss.peak,
      outputBytes,
      updateBytes: update,
    };
  } finally {
    tf.dispose(inputs.slice(1));
  }
}
