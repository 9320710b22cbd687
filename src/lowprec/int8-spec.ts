/**
 * What 8-bit training quantizes (the training option `lowPrecision`): weight and activation bits
 * of the forward products (affine per-tensor), and the bits of the layer gradient that flows into
 * the input-gradient product (symmetric per-tensor, stochastic rounding). The weight-gradient
 * product keeps the float32 gradient (Banner et al.'s gradient bifurcation).
 */
import { At, integer, object } from '../config/index.js';

export interface LowPrecisionSpec {
  /** Forward weight bits, integer 2-8 (affine per tensor). */
  weights: number;
  /** Forward activation (layer input) bits, integer 2-8 (affine per tensor). */
  activations: number;
  /** Bits of the layer gradient of the input-gradient product, integer 2-16 (stochastic). */
  gradients: number;
}

const fields = object({
  weights: integer({ min: 2, max: 8 }),
  activations: integer({ min: 2, max: 8 }),
  gradients: integer({ min: 2, max: 16 }),
});

/** Checks a `lowPrecision` spec; errors name the field (`lowPrecision.weights must be ...`). */
export function parseLowPrecision(v: unknown, config = 'lowPrecision'): LowPrecisionSpec {
  return fields(v, new At(config)) as LowPrecisionSpec;
}

/** The spec `frugal train --low-precision <bits>` trains with: every field at `bits`. */
export function uniformLowPrecision(bits: number): LowPrecisionSpec {
  return parseLowPrecision({ weights: bits, activations: bits, gradients: bits });
}
