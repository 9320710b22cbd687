import * as tf from '@tensorflow/tfjs';
import { configWith } from '../../models/layers/layer-config.js';
import type { SaveTensors } from '../backward/custom-grad.js';
import type { ActivationName } from '../codec/activation-fns.js';
import { type ActivationSaved, saveActivationGrad } from '../codec/activation-save.js';
import { type ActivationBits, isActivationBits } from '../codec/bits.js';
import { FEWBIT_BITS, type FewbitBits } from '../codec/fewbit-table.js';
import { type Saved, savedBytes, saveList, saveQuantized } from '../codec/saved.js';

/** Compression settings every compressed layer carries (serialized with the layer). */
export interface CompressionArgs {
  /** Bits of the activations saved for backward (32: exact float32). */
  actBits?: ActivationBits;
  /** Few-bit codes for a smooth activation's derivative (0: off). */
  fewbit?: 0 | FewbitBits;
  /** Per-sample bits inside each quantized save, averaging `actBits` (ActNN). */
  perSample?: boolean;
}

export interface CompressedLayerArgs extends CompressionArgs {
  name?: string;
  trainable?: boolean;
  inputShape?: tf.Shape;
  batchInputShape?: tf.Shape;
  dtype?: tf.DataType;
}

export function checkActBits(layer: string, b: unknown): ActivationBits {
  if (!isActivationBits(b))
    throw new Error(`${layer}: actBits must be one of 1, 2, 4, 8, 32, got ${JSON.stringify(b)}`);
  return b;
}

export function checkFewbit(layer: string, b: unknown): 0 | FewbitBits {
  if (b !== 0 && !(FEWBIT_BITS as readonly unknown[]).includes(b))
    throw new Error(`${layer}: fewbit must be 0, 1, 2, 3 or 4, got ${JSON.stringify(b)}`);
  return b as 0 | FewbitBits;
}

/**
 * Base of the compressed-activation layers: the forward is exact; in training the layer runs a
 * `tf.customGrad` whose saved state is compressed, and its backward frees the upstream gradient as
 * soon as it is consumed. `actBits` can be changed between steps (mixed precision).
 */
export abstract class CompressedLayer extends tf.layers.Layer {
  actBits: ActivationBits;
  fewbit: 0 | FewbitBits;
  perSample: boolean;
  /** Bytes the last training forward saved for backward (diagnostics). */
  lastSavedBytes = 0;
  /** Bytes an exact float32 save of the same tensors would take (diagnostics). */
  lastExactBytes = 0;

  constructor(args: CompressedLayerArgs) {
    super(args);
    this.actBits = checkActBits(args.name ?? 'compressed layer', args.actBits ?? 2);
    this.fewbit = checkFewbit(args.name ?? 'compressed layer', args.fewbit ?? 0);
    if (args.perSample !== undefined && typeof args.perSample !== 'boolean')
      throw new Error(
        `${args.name ?? 'compressed layer'}: perSample must be a boolean, got ${JSON.stringify(args.perSample)}`,
      );
    this.perSample = args.perSample ?? false;
  }

  protected static isTraining(kwargs: tf.serialization.ConfigDict | undefined): boolean {
    return kwargs?.training === true;
  }

  /** `t` saved for backward at this layer's bits (per sample where set). */
  protected saveInput(t: tf.Tensor): Saved<tf.Tensor> {
    return saveQuantized(t, this.actBits, this.perSample);
  }

  /** The state `activation`'s derivative needs at `z`, saved with this layer's settings. */
  protected saveActivation(activation: ActivationName, z: tf.Tensor): ActivationSaved {
    return saveActivationGrad(activation, z, {
      bits: this.actBits,
      fewbit: this.fewbit,
      perSample: this.perSample,
    });
  }

  /**
   * Hands the tensors of `parts` to the custom gradient (`save`) and records the diagnostics:
   * the bytes they take and `exactBytes`, what a float32 save of the same values would take.
   */
  protected recordSaved(save: SaveTensors, parts: Saved<unknown>[], exactBytes: number): void {
    save(saveList(parts));
    this.lastSavedBytes = savedBytes(parts);
    this.lastExactBytes = exactBytes;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return configWith(super.getConfig(), this, ['actBits', 'fewbit', 'perSample']);
  }
}

/** The single input tensor of a layer call. */
export function single(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0] : inputs;
}
