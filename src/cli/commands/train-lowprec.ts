// `frugal train --low-precision <bits>`: 8-bit training (src/lowprec: quantized forward products,
// stochastically rounded layer gradients, Range BN). Parsing, the option checks and the model
// conversion; train.ts calls these in a few lines.
import type * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from 'commander';
import { type LowPrecisionResult, lowPrecisionModel } from '../../lowprec/int8-model.js';
import { type LowPrecisionSpec, uniformLowPrecision } from '../../lowprec/int8-spec.js';
import { canTrainConv } from '../../train/finetune.js';

/** commander parser of --low-precision: an integer bit width in 2-8. */
export function lowPrecisionOption(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 2 || n > 8)
    throw new InvalidArgumentError(
      `expected an integer bit width in 2-8 (8 for Banner et al.'s 8-bit training), got '${value}'`,
    );
  return n;
}

interface LowPrecisionOptions {
  lowPrecision?: number;
  gradSparsity?: string;
  memoryBudget?: number;
  workers?: number;
  seed: number;
}

/** --low-precision with options it cannot be combined with: an error naming them. */
export function checkLowPrecisionOptions(o: LowPrecisionOptions, hasActConfig: boolean): void {
  if (o.lowPrecision === undefined) return;
  const clash = [
    hasActConfig && '--act-* options (compressed activations compute their own backward)',
    o.memoryBudget !== undefined && '--memory-budget (the planner runs the plain layers)',
    (o.workers ?? 1) > 1 && '--workers (the workers run the plain layers)',
    o.gradSparsity !== undefined && '--grad-sparsity (both replace the Dense/Conv2D backward)',
  ].filter((x): x is string => typeof x === 'string');
  if (clash.length > 0)
    throw new Error(`--low-precision cannot be combined with ${clash.join(', ')} yet: drop one`);
}

export interface LowPrecisionReport {
  spec: LowPrecisionSpec;
  rangeBn: boolean;
  converted: LowPrecisionResult['converted'];
  unconverted: LowPrecisionResult['unconverted'];
  note: string;
}

/**
 * The model for --low-precision (8-bit Dense/Conv2D, batch norm -> Range BN), or null without
 * it. Throws when the backend cannot compute a conv filter gradient (stock wasm).
 */
export function applyLowPrecision(
  model: tf.LayersModel,
  o: LowPrecisionOptions,
): { model: tf.LayersModel; report: LowPrecisionReport } | null {
  if (o.lowPrecision === undefined) return null;
  const hasConv = model.layers.some((l) => l.getClassName() === 'Conv2D');
  if (hasConv && !canTrainConv())
    throw new Error(
      '--low-precision: this backend has no Conv2D filter gradient (stock wasm): drop --no-fast-kernels, or use --backend cpu',
    );
  const spec = uniformLowPrecision(o.lowPrecision);
  const r = lowPrecisionModel(model, { quantize: spec, rangeBn: true, seed: o.seed });
  return {
    model: r.model,
    report: {
      spec,
      rangeBn: true,
      converted: r.converted,
      unconverted: r.unconverted,
      note: 'simulated in float32: values lie on the low-bit grids, products run in float32 ops',
    },
  };
}
