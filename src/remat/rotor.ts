import { formatBytes } from './budget.js';
import { type ChainCosts, validateCosts } from './costs.js';
import { type Op, type Prediction, simulate } from './schedule.js';

export interface PlanOptions {
  /** Memory is rounded up to budget/units-byte units; more units = closer to optimal, slower. */
  units?: number;
  /**
   * Keep modes the planner may use: 'exact' (recompute-only Rotor: keep exact tapes or
   * recompute) or 'joint' (also keep tapes quantized to the compressed modes the costs list).
   */
  modes?: 'exact' | 'joint';
}

export interface Plan {
  ops: Op[];
  predicted: Prediction;
  budgetBytes: number;
  /** Bytes per memory unit of the dynamic program. */
  unitBytes: number;
  /** The smallest budget any schedule of this family fits in (bytes). */
  minimumBytes: number;
}

/** A budget below the smallest peak any schedule can reach. */
export class InfeasibleBudgetError extends Error {
  constructor(
    readonly budgetBytes: number,
    readonly minimumBytes: number,
    /** What sets the minimum: the op of the least-peak schedule where its peak is reached. */
    readonly limitedBy = '',
  ) {
    super(
      `memory budget ${formatBytes(budgetBytes)} is infeasible: the smallest budget any schedule fits in is ${formatBytes(minimumBytes)} (${minimumBytes} bytes)${limitedBy ? `, set by ${limitedBy}` : ''}`,
    );
    this.name = 'InfeasibleBudgetError';
  }
}

interface Tables {
  L: number;
  modes: number[][];
  /** grad(i) = bytes of the gradient of the input of stage i; grad(L) = 0. */
  grad: (i: number) => number;
  fwdMax: (a: number, j: number) => number;
}

function tables(costs: ChainCosts, joint: boolean): Tables {
  const st = costs.stages;
  const L = st.length;
  const modes = st.map((s) => s.keep.map((_, i) => i).filter((i) => joint || i === 0));
  const grad = (i: number) => (i >= L ? 0 : st[i].gradBytes);
  // fwdMax(a, j): peak of Fc(a), Fn(a+1..j-1) above the entry level.
  const fwdMax = (a: number, j: number) => {
    let m = st[a].fwdPeakBytes;
    for (let k = a + 1; k < j; k++) m = Math.max(m, st[k].inputBytes + st[k].fwdPeakBytes);
    return m;
  };
  return { L, modes, grad, fwdMax };
}

/**
 * The smallest peak (bytes, fixed bytes included) of any schedule of the Rotor family. Exact:
 * the peak of a schedule is a max over independent sub-schedules, so min-max decomposes.
 */
export function minimumPeak(costs: ChainCosts, options: PlanOptions = {}): number {
  const t = tables(costs, options.modes === 'joint');
  const st = costs.stages;
  const { L, grad } = t;
  const minP: number[][] = Array.from({ length: L }, () => new Array<number>(L).fill(0));
  for (let d = 0; d < L; d++) {
    for (let a = 0; a + d < L; a++) {
      const b = a + d;
      let best = Number.POSITIVE_INFINITY;
      for (const v of t.modes[a]) {
        const k = st[a].keep[v];
        let p = Math.max(grad(b + 1) + k.allPeakBytes, k.tapeBytes + grad(a + 1) + k.bwdPeakBytes);
        if (a < b) p = Math.max(p, k.tapeBytes + minP[a + 1][b]);
        best = Math.min(best, p);
      }
      for (let j = a + 1; j <= b; j++) {
        const p = Math.max(
          grad(b + 1) + t.fwdMax(a, j),
          st[j].inputBytes + minP[j][b],
          minP[a][j - 1],
        );
        best = Math.min(best, p);
      }
      minP[a][b] = best;
    }
  }
  return costs.fixedBytes + Math.max(minP[0][L - 1], costs.updateBytes);
}

/**
 * Rotor's dynamic program (Beaumont et al., "Optimal checkpointing for heterogeneous chains"),
 * extended with per-stage keep modes: opt[a][b][m] is the least time to run forward and backward
 * of stages a..b within m memory units, given the input of stage a. Either record stage a
 * (in some keep mode) and recurse on a+1..b with the tape's memory taken out; or checkpoint the
 * input of a, run a..j-1 without saving, solve j..b with x_j held, then solve a..j-1 again.
 * Backtracking gives the schedule. Throws `InfeasibleBudgetError` (with the smallest working
 * budget) when no schedule fits.
 */
export function planRotor(costs: ChainCosts, budgetBytes: number, options: PlanOptions = {}): Plan {
  validateCosts(costs);
  if (!Number.isFinite(budgetBytes) || budgetBytes <= 0)
    throw new Error(`memory budget must be a positive number of bytes, got ${budgetBytes}`);
  const units = options.units ?? 500;
  if (!Number.isInteger(units) || units < 1 || units > 20000)
    throw new Error(`plan units must be an integer in 1..20000, got ${units}`);
  const minimumBytes = minimumPeak(costs, options);
  if (budgetBytes < minimumBytes)
    throw new InfeasibleBudgetError(budgetBytes, minimumBytes, limitOf(costs, options));
  const t = tables(costs, options.modes === 'joint');
  const st = costs.stages;
  const { L, grad } = t;
  const avail = budgetBytes - costs.fixedBytes;
  const unit = Math.max(1, Math.ceil(avail / units));
  const M = Math.floor(avail / unit);
  const u = (bytes: number) => Math.ceil(bytes / unit);
  const W = M + 1;
  const opt = new Float64Array(L * L * W).fill(Number.POSITIVE_INFINITY);
  const choice = new Int32Array(L * L * W);
  const at = (a: number, b: number) => (a * L + b) * W;
  const fwdSum = (a: number, j: number) => {
    let s = 0;
    for (let k = a; k < j; k++) s += st[k].fwdMs;
    return s;
  };
  for (let d = 0; d < L; d++) {
    for (let a = 0; a + d < L; a++) {
      const b = a + d;
      const base = at(a, b);
      // Record stage a in keep mode v.
      for (const v of t.modes[a]) {
        const k = st[a].keep[v];
        const thr = Math.max(
          u(grad(b + 1) + k.allPeakBytes),
          u(k.tapeBytes + grad(a + 1) + k.bwdPeakBytes),
        );
        const ut = u(k.tapeBytes);
        const own = k.allMs + k.bwdMs;
        const sub = a < b ? at(a + 1, b) : -1;
        for (let m = thr; m <= M; m++) {
          let time = own;
          if (sub >= 0) {
            if (m < ut) continue;
            time += opt[sub + m - ut];
          }
          if (time < opt[base + m]) {
            opt[base + m] = time;
            choice[base + m] = -1 - v;
          }
        }
      }
      // Checkpoint the input of a, run a..j-1 without saving.
      for (let j = a + 1; j <= b; j++) {
        const thr = u(grad(b + 1) + t.fwdMax(a, j));
        const uc = u(st[j].inputBytes);
        const fs = fwdSum(a, j);
        const right = at(j, b);
        const left = at(a, j - 1);
        for (let m = Math.max(thr, uc); m <= M; m++) {
          const time = fs + opt[right + m - uc] + opt[left + m];
          if (time < opt[base + m]) {
            opt[base + m] = time;
            choice[base + m] = j;
          }
        }
      }
    }
  }
  const candidates: Op[][] = [];
  if (Number.isFinite(opt[at(0, L - 1) + M])) {
    const ops: Op[] = [];
    const rec = (a: number, b: number, m: number) => {
      const c = choice[at(a, b) + m];
      if (c < 0) {
        const v = -1 - c;
        ops.push({ kind: 'fall', stage: a, mode: v });
        if (a < b) rec(a + 1, b, m - u(st[a].keep[v].tapeBytes));
        ops.push({ kind: 'b', stage: a, mode: v });
      } else {
        ops.push({ kind: 'fc', stage: a });
        for (let k = a + 1; k < c; k++) ops.push({ kind: 'fn', stage: k });
        rec(c, b, m - u(st[c].inputBytes));
        rec(a, c - 1, m);
      }
    };
    rec(0, L - 1, M);
    candidates.push(ops);
  }
  // Rounding to units can cost the DP a few bytes of the budget (near the least budget it may find
  // nothing, or only slower schedules): the least-peak schedules (of this family, and
  // recompute-only for 'joint') compete too. The first fits by construction.
  candidates.push(minimumPeakSchedule(costs, options));
  if (options.modes === 'joint') candidates.push(minimumPeakSchedule(costs, {}));
  const ops = candidates
    .map((o) => ({ o, p: simulate(costs, o) }))
    .filter((c) => c.p.peakBytes <= budgetBytes)
    .sort((x, y) => x.p.timeMs - y.p.timeMs)[0]?.o;
  if (ops === undefined)
    throw new Error(`planner bug: the least-peak schedule exceeds the budget ${budgetBytes}`);
  const predicted = simulate(costs, ops);
  if (predicted.peakBytes > budgetBytes)
    throw new Error(
      `planner bug: predicted peak ${predicted.peakBytes} exceeds the budget ${budgetBytes}`,
    );
  return { ops, predicted, budgetBytes, unitBytes: unit, minimumBytes };
}

/**
 * Names what sets the least peak: the stage whose recorded forward or backward (or the optimizer
 * update) reaches it in the least-peak schedule; a stage is the smallest unit a schedule can
 * recompute or compress.
 */
export function limitOf(costs: ChainCosts, options: PlanOptions = {}): string {
  const at = simulate(costs, minimumPeakSchedule(costs, options)).peakAt;
  if (at === 'update' || at === 'start') return 'the optimizer update (its transient buffers)';
  const m = /^(Fall|B|Fc|Fn)(\d+)/.exec(at);
  const stage = m ? costs.stages[Number(m[2])] : undefined;
  if (!m || !stage) return at;
  const what = m[1] === 'B' ? 'backward' : m[1] === 'Fall' ? 'recorded forward' : 'forward';
  return `the ${what} of stage ${m[2]} (${stage.name}) at ${at}`;
}

/** The schedule of least peak memory (ties broken by time). */
export function minimumPeakSchedule(costs: ChainCosts, options: PlanOptions = {}): Op[] {
  const t = tables(costs, options.modes === 'joint');
  const st = costs.stages;
  const { L, grad } = t;
  const best: { peak: number; time: number; c: number }[][] = Array.from(
    { length: L },
    () => new Array(L),
  );
  const better = (p: number, tm: number, cur: { peak: number; time: number } | undefined) =>
    cur === undefined || p < cur.peak || (p === cur.peak && tm < cur.time);
  for (let d = 0; d < L; d++) {
    for (let a = 0; a + d < L; a++) {
      const b = a + d;
      let cur: { peak: number; time: number; c: number } | undefined;
      for (const v of t.modes[a]) {
        const k = st[a].keep[v];
        let p = Math.max(grad(b + 1) + k.allPeakBytes, k.tapeBytes + grad(a + 1) + k.bwdPeakBytes);
        let tm = k.allMs + k.bwdMs;
        if (a < b) {
          p = Math.max(p, k.tapeBytes + best[a + 1][b].peak);
          tm += best[a + 1][b].time;
        }
        if (better(p, tm, cur)) cur = { peak: p, time: tm, c: -1 - v };
      }
      for (let j = a + 1; j <= b; j++) {
        const p = Math.max(
          grad(b + 1) + t.fwdMax(a, j),
          st[j].inputBytes + best[j][b].peak,
          best[a][j - 1].peak,
        );
        let tm = best[j][b].time + best[a][j - 1].time;
        for (let k = a; k < j; k++) tm += st[k].fwdMs;
        if (better(p, tm, cur)) cur = { peak: p, time: tm, c: j };
      }
      best[a][b] = cur!;
    }
  }
  const ops: Op[] = [];
  const rec = (a: number, b: number) => {
    const c = best[a][b].c;
    if (c < 0) {
      ops.push({ kind: 'fall', stage: a, mode: -1 - c });
      if (a < b) rec(a + 1, b);
      ops.push({ kind: 'b', stage: a, mode: -1 - c });
    } else {
      ops.push({ kind: 'fc', stage: a });
      for (let k = a + 1; k < c; k++) ops.push({ kind: 'fn', stage: k });
      rec(c, b);
      rec(a, c - 1);
    }
  };
  rec(0, L - 1);
  return ops;
}
