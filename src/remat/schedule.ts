import type { ChainCosts } from './costs.js';

/**
 * One step of a rematerialization schedule over a chain of stages 0..L-1:
 * - `fn`: forward of a stage without saving anything, freeing its input (a temporary);
 * - `fc`: forward without saving, keeping its input (a checkpoint);
 * - `fall`: forward recording everything its backward needs (in keep mode `mode`);
 * - `b`: backward of a stage recorded by `fall`, turning the gradient of its output into the
 *   gradient of its input (and of its weights).
 */
export type Op =
  | { kind: 'fn'; stage: number }
  | { kind: 'fc'; stage: number }
  | { kind: 'fall'; stage: number; mode: number }
  | { kind: 'b'; stage: number; mode: number };

export interface Prediction {
  /** Sum of the ops' measured times, ms. */
  timeMs: number;
  /** Peak activation bytes, including the chain's fixed bytes. */
  peakBytes: number;
  /** Where the peak is reached: an op (`Fall3`, `B3`...) or `update` (the optimizer step). */
  peakAt: string;
}

/** Short text of an op: Fn3, Fc3, Fall3 (Fall3@4b: kept at 4 bits), B3. */
export function formatOp(op: Op, costs?: ChainCosts): string {
  const bits = (i: number, mode: number) => costs?.stages[i]?.keep[mode]?.bits ?? 32;
  switch (op.kind) {
    case 'fn':
      return `Fn${op.stage}`;
    case 'fc':
      return `Fc${op.stage}`;
    case 'fall':
      return `Fall${op.stage}${bits(op.stage, op.mode) === 32 ? '' : `@${bits(op.stage, op.mode)}b`}`;
    case 'b':
      return `B${op.stage}`;
  }
}

/**
 * Replays a schedule on the cost model, tracking what is live: checkpointed inputs, recorded
 * tapes (which own their stage's output) and gradients. Throws if the schedule uses something
 * that is not there (so it also validates schedules). This is the model the planners optimise;
 * the executor frees memory at the same points or earlier.
 */
export function simulate(costs: ChainCosts, ops: Op[]): Prediction {
  const st = costs.stages;
  const L = st.length;
  const grad = (i: number) => (i >= L ? 0 : st[i].gradBytes);
  // x[i]: 'given' (model input), 'own' (standalone checkpoint/temporary), 'tape' (a tape's output).
  const x = new Map<number, 'given' | 'own' | 'tape'>([[0, 'given']]);
  const tapes = new Map<number, number>();
  const grads = new Set<number>([L]);
  let cur = costs.fixedBytes;
  let peak = cur;
  let peakAt = 'start';
  let time = 0;
  const reach = (bytes: number, op: Op) => {
    if (bytes > peak) {
      peak = bytes;
      peakAt = formatOp(op, costs);
    }
  };
  const need = (ok: boolean, what: string, op: Op) => {
    if (!ok) throw new Error(`invalid schedule at ${formatOp(op)}: ${what}`);
  };
  for (const op of ops) {
    const s = st[op.stage];
    need(s !== undefined, `no stage ${op.stage}`, op);
    const i = op.stage;
    if (op.kind === 'fn' || op.kind === 'fc') {
      need(x.has(i), `input of stage ${i} is not live`, op);
      need(!x.has(i + 1), `output of stage ${i} is already live`, op);
      need(i + 1 < L, 'the last stage must be recorded (fall), its output goes to the loss', op);
      reach(cur + s.fwdPeakBytes, op);
      cur += st[i + 1].inputBytes;
      x.set(i + 1, 'own');
      time += s.fwdMs;
      if (op.kind === 'fn') {
        need(x.get(i) === 'own', `fn would free input ${i} that it does not own`, op);
        cur -= s.inputBytes;
        x.delete(i);
      }
    } else if (op.kind === 'fall') {
      const k = s.keep[op.mode];
      need(k !== undefined, `stage ${i} has no keep mode ${op.mode}`, op);
      need(x.has(i), `input of stage ${i} is not live`, op);
      need(!x.has(i + 1) && !tapes.has(i), `stage ${i} is already recorded`, op);
      reach(cur + k.allPeakBytes, op);
      cur += k.tapeBytes;
      tapes.set(i, op.mode);
      x.set(i + 1, 'tape');
      time += k.allMs;
    } else {
      need(tapes.get(i) === op.mode, `stage ${i} was not recorded in mode ${op.mode}`, op);
      need(grads.has(i + 1), `gradient of the output of stage ${i} is not live`, op);
      const k = s.keep[op.mode];
      reach(cur + k.bwdPeakBytes, op);
      cur += grad(i) - grad(i + 1) - k.tapeBytes;
      tapes.delete(i);
      grads.delete(i + 1);
      grads.add(i);
      x.delete(i + 1);
      if (x.get(i) === 'own') {
        cur -= s.inputBytes;
        x.delete(i);
      }
      time += k.bwdMs;
    }
  }
  if (!grads.has(0)) throw new Error('invalid schedule: it never reaches the backward of stage 0');
  if (costs.fixedBytes + costs.updateBytes > peak) {
    peak = costs.fixedBytes + costs.updateBytes;
    peakAt = 'update';
  }
  return { timeMs: time, peakBytes: peak, peakAt };
}
