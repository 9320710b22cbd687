/**
 * The cost model a rematerialization planner works on: per stage of a chain, measured times and
 * bytes (see `profileChain`). All byte figures are counted by the memory meter, so they are
 * what the executor really holds.
 */

/** One way of keeping a stage's saved tensors between its forward and its backward. */
export interface KeepMode {
  /** 32 = exact float tensors; 8/4/2 = saved tensors quantized to that many bits. */
  bits: number;
  /** Forward with the tape recorded (plus compression), ms. */
  allMs: number;
  /** Backward from the tape (plus decompression), ms. */
  bwdMs: number;
  /** Bytes held from the recorded forward until the backward: saved tensors and the output. */
  tapeBytes: number;
  /** Peak above the level before the recorded forward. */
  allPeakBytes: number;
  /**
   * Peak above the level before the backward, less the stage's own weight-gradient bytes (the
   * memory meter counts weight gradients apart from activations).
   */
  bwdPeakBytes: number;
}

export interface StageCost {
  name: string;
  /** Forward without recording (not saving anything for backward), ms. */
  fwdMs: number;
  /** Bytes of the stage's input held as a checkpoint (0 for the model input: it is the batch). */
  inputBytes: number;
  /** Bytes of the gradient of the stage's input (0 for the model input: not computed). */
  gradBytes: number;
  /** Peak above the level before a forward without recording (includes the output). */
  fwdPeakBytes: number;
  /** Ways to keep the stage for backward; `keep[0]` is exact (32 bits). */
  keep: KeepMode[];
}

export interface ChainCosts {
  stages: StageCost[];
  /**
   * Bytes held for the whole step whatever the schedule: the model output, the loss computation
   * and its gradient (tfjs's own tape holds them until the step ends).
   */
  fixedBytes: number;
  /** Transient bytes after the schedule ends (the optimizer update), on top of `fixedBytes`. */
  updateBytes: number;
}

/** Checks a cost model for impossible values; throws naming the stage and the field. */
export function validateCosts(costs: ChainCosts): void {
  if (costs.stages.length === 0) throw new Error('chain costs: no stages');
  const check = (where: string, field: string, v: number) => {
    if (!Number.isFinite(v) || v < 0)
      throw new Error(`chain costs: ${where} ${field} must be a finite number >= 0, got ${v}`);
  };
  check('chain', 'fixedBytes', costs.fixedBytes);
  check('chain', 'updateBytes', costs.updateBytes);
  costs.stages.forEach((s, i) => {
    const where = `stage ${i} (${s.name})`;
    for (const f of ['fwdMs', 'inputBytes', 'gradBytes', 'fwdPeakBytes'] as const)
      check(where, f, s[f]);
    if (s.keep.length === 0 || s.keep[0].bits !== 32)
      throw new Error(`chain costs: ${where} keep[0] must be the exact (32-bit) mode`);
    for (const k of s.keep)
      for (const f of ['allMs', 'bwdMs', 'tapeBytes', 'allPeakBytes', 'bwdPeakBytes'] as const)
        check(`${where} keep ${k.bits}-bit`, f, k[f]);
  });
}
