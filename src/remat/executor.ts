import * as tf from '@tensorflow/tfjs';
import { isRecording, runWithoutTape, shareBuffer } from '../engine/tape.js';
import type { ForwardFn } from '../train/step.js';
import type { Chain, Stage } from './chain.js';
import { checkTapeBits, type RecordedStage, recordStage } from './record-stage.js';
import { formatOp, type Op } from './schedule.js';

/** Bits of each keep mode a schedule's `fall` ops may name (index 0 = exact, 32 bits). */
export type KeepBits = number[];

interface Held {
  t: tf.Tensor;
  /** The stage's carried tensors (a block's skip tensor), as buffer-sharing handles it owns. */
  carried: tf.Tensor[];
  /** 'given': the batch; 'own': a checkpoint or temporary; 'tape': a recorded stage's output. */
  owner: 'given' | 'own' | 'tape';
}

/** Gradient of a stage input: of its main tensor and of each carried tensor. */
interface Grad {
  main: tf.Tensor;
  carried: tf.Tensor[];
}

/**
 * The state of one training step run along a schedule: the forward phase (ops up to the first
 * backward) runs inside the forward of one `customGrad` op over all trainable variables; the
 * backward phase runs when tfjs asks that op for its gradients. Every tensor is freed at the
 * point the schedule says, so the step's memory follows the plan.
 */
class ScheduledStep {
  private readonly x = new Map<number, Held>();
  private readonly tapes = new Map<number, RecordedStage>();
  private readonly grads = new Map<number, Grad>();
  private readonly wgrads = new Map<number, tf.Tensor>();
  /** Stages that already ran forward in this step: later runs must not update BN statistics. */
  private readonly ran = new Set<number>();
  private next = 0;
  private output: tf.Tensor | null = null;
  private reachedInput = false;

  constructor(
    private readonly chain: Chain,
    private readonly ops: Op[],
    private readonly bits: KeepBits,
    private readonly seed: number,
  ) {}

  forwardPhase(xs: tf.Tensor): tf.Tensor {
    const L = this.chain.stages.length;
    this.x.set(0, { t: xs, carried: [], owner: 'given' });
    while (this.next < this.ops.length && this.ops[this.next].kind !== 'b') this.exec(this.next++);
    const out = this.x.get(L);
    if (out === undefined) throw new Error('schedule: the forward phase never reached the output');
    this.output = out.t;
    return out.t;
  }

  backwardPhase(dy: tf.Tensor): tf.Tensor[] {
    const L = this.chain.stages.length;
    this.grads.set(L, { main: dy, carried: [] });
    while (this.next < this.ops.length) this.exec(this.next++);
    if (!this.reachedInput) throw new Error('schedule: the backward phase never reached stage 0');
    return this.chain.variables.map((v) => this.wgrads.get(v.id) ?? tf.zerosLike(v));
  }

  /** Index of a passed-on tensor among the stage's inputs: 0 = main input, 1 + j = carried j. */
  private inputIndex(stage: Stage, id: number): number {
    if (id === stage.input.id) return 0;
    const j = stage.carried.findIndex((c) => c.id === id);
    if (j < 0) throw new Error(`schedule: stage ${stage.name} passes on a tensor it never had`);
    return 1 + j;
  }

  private exec(index: number): void {
    const op = this.ops[index];
    const i = op.stage;
    const stage = this.chain.stages[i];
    const L = this.chain.stages.length;
    const input = this.x.get(i);
    if (stage === undefined) throw new Error(`schedule: no stage ${i}`);
    if (op.kind === 'fn' || op.kind === 'fc' || op.kind === 'fall') {
      if (input === undefined) throw new Error(`schedule: ${formatOp(op)} needs x${i}`);
      if (this.x.has(i + 1)) throw new Error(`schedule: ${formatOp(op)} recomputes live x${i + 1}`);
      const repeat = this.ran.has(i);
      this.ran.add(i);
      const inputs = [input.t, ...input.carried];
      const carried = stage.carriedOut.map((c) =>
        shareBuffer(inputs[this.inputIndex(stage, c.id)]),
      );
      if (op.kind === 'fall') {
        const bits = this.bits[op.mode] ?? 32;
        const tape = recordStage(stage, input.t, repeat, bits, this.seed * 7919 + i, input.carried);
        this.tapes.set(i, tape);
        this.x.set(i + 1, { t: tape.output, carried, owner: 'tape' });
      } else {
        const y = runWithoutTape(() => stage.run(input.t, true, repeat, undefined, input.carried));
        this.x.set(i + 1, { t: y, carried, owner: 'own' });
        if (op.kind === 'fn') {
          if (input.owner !== 'own') throw new Error(`schedule: ${formatOp(op)} frees x${i}`);
          release(input, true);
          this.x.delete(i);
        }
      }
      return;
    }
    const recorded = this.tapes.get(i);
    const dy = this.grads.get(i + 1);
    if (recorded === undefined || dy === undefined || input === undefined)
      throw new Error(
        `schedule: ${formatOp(op)} needs x${i}, the tape of stage ${i} and dx${i + 1}`,
      );
    // Stage 0's input is the batch: no gradient.
    const inputs = i === 0 ? [] : [input.t, ...input.carried];
    const wrt = [...inputs, ...stage.variables];
    const g = wrt.length > 0 ? recorded.backward(dy.main, wrt) : [];
    recorded.dispose();
    this.tapes.delete(i);
    const dInputs = g.slice(0, inputs.length);
    const dWeights = g.slice(inputs.length);
    // Tensors the stage passed through get their gradient from later stages too.
    stage.carriedOut.forEach((c, k) => {
      const d = dy.carried[k];
      if (i > 0) {
        const j = this.inputIndex(stage, c.id);
        const sum = tf.add(dInputs[j], d);
        dInputs[j].dispose();
        dInputs[j] = sum;
      }
      d.dispose();
    });
    if (i > 0) this.grads.set(i, { main: dInputs[0], carried: dInputs.slice(1) });
    else this.reachedInput = true;
    stage.variables.forEach((v, k) => {
      const prev = this.wgrads.get(v.id);
      if (prev === undefined) this.wgrads.set(v.id, dWeights[k]);
      else {
        this.wgrads.set(v.id, tf.add(prev, dWeights[k]));
        prev.dispose();
        dWeights[k].dispose();
      }
    });
    this.grads.delete(i + 1);
    if (i + 1 < L) dy.main.dispose();
    const out = this.x.get(i + 1);
    this.x.delete(i + 1);
    if (out !== undefined) release(out, i + 1 < L);
    if (input.owner === 'own') {
      release(input, true);
      this.x.delete(i);
    }
  }

  /** Frees everything the step still holds (after the backward, or after an error). */
  dispose(): void {
    for (const h of this.x.values()) release(h, h.owner !== 'given');
    this.x.clear();
    for (const t of this.tapes.values()) t.dispose();
    this.tapes.clear();
    const L = this.chain.stages.length;
    for (const [k, g] of this.grads) {
      if (k !== L) g.main.dispose();
      tf.dispose(g.carried);
    }
    this.grads.clear();
    this.output?.dispose();
    this.output = null;
  }
}

/** Frees a held entry's carried handles, and its main tensor when `main`. */
function release(h: Held, main: boolean): void {
  tf.dispose(h.carried);
  h.carried = [];
  if (main) h.t.dispose();
}

export interface ScheduledForwardOptions {
  /** Bits of each keep mode the schedule names (default: only mode 0, exact). */
  keepBits?: KeepBits;
  /** Seed of the stochastic rounding of compressed modes. */
  seed?: number;
}

/**
 * A `ForwardFn` (for `train(..., {forward})` or `trainStep`) that runs each training step along
 * `ops`: stages run without saving, checkpointed, or recorded as the schedule says, and their
 * backward recomputes what was not kept. Gradients equal the plain model's (exact keep modes).
 * Outside a gradient computation, or with `training` false, it runs the model as usual.
 */
export function scheduledForward(
  chain: Chain,
  ops: Op[],
  options: ScheduledForwardOptions = {},
): ForwardFn {
  const bits = options.keepBits ?? [32];
  bits.forEach(checkTapeBits);
  let steps = 0;
  return (xs, training) => {
    if (!training || !isRecording()) return chain.model.apply(xs, { training }) as tf.Tensor;
    const step = new ScheduledStep(chain, ops, bits, (options.seed ?? 0) + steps++);
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      void args;
      let value: tf.Tensor;
      try {
        value = step.forwardPhase(xs);
      } catch (e) {
        step.dispose();
        throw e;
      }
      return {
        value,
        gradFunc: (dy: tf.Tensor) => {
          try {
            return step.backwardPhase(dy);
          } finally {
            step.dispose();
          }
        },
      };
    });
    return op(...chain.variables);
  };
}
