import * as tf from '@tensorflow/tfjs';
import type { PackedBits } from '../activation/codec/bits.js';
import { type Saved, saveQuantized } from '../activation/codec/saved.js';
import type { Rng } from '../engine/random.js';
import {
  type BackpropHooks,
  backprop,
  recordTape,
  type StageTape,
  type TapeNode,
  untaped,
} from '../engine/tape.js';

/** Saved tensors smaller than this stay exact (statistics, biases): compressing them saves nothing. */
export const MIN_COMPRESSED_ELEMENTS = 256;

/** Bit widths a tape may be kept at (besides exact, 32). */
export const TAPE_BITS: readonly PackedBits[] = [8, 4, 2];

/**
 * One saved buffer of the tape, held quantized; `slots` are the tape places that saved it (with
 * their shapes: a reshaped view shares its source's buffer).
 */
interface Entry {
  slots: { node: TapeNode; index: number; shape: number[] }[];
  packed: Saved<tf.Tensor>;
  /** The restored value in each slot's shape, while some node still needs it. */
  restored: tf.Tensor[] | null;
  /** Ids of the nodes holding a slot whose gradient has not run yet. */
  pending: Set<number>;
}

/**
 * Quantizes a tape's saved tensors as soon as only the tape holds them (the forward freed every
 * other reference), with the activation quantizer of src/activation (per-group stochastic
 * rounding, packed codes in ordinary tensors the memory meter counts). Called after each layer of
 * a recorded forward, the full-precision tape never exists at once; in the backward each node's
 * tensors are restored just before its gradient and freed after it.
 */
class TapeCompressor {
  private readonly entries: Entry[] = [];
  private readonly byNode = new Map<number, Entry[]>();
  /** Saved tensors judged never compressible (weights, small or integer tensors). */
  private readonly skip = new Set<tf.Tensor>();

  constructor(
    private readonly nodes: TapeNode[],
    private readonly bits: PackedBits,
    private readonly rng: Rng,
  ) {}

  /** Compresses every saved buffer that only tape slots still reference. */
  sweep(): void {
    const backend = tf.backend();
    const groups = new Map<object, { t: tf.Tensor; slots: Entry['slots'] }>();
    for (const node of this.nodes) {
      const saved = node.saved;
      if (!saved) continue;
      for (let index = 0; index < saved.length; index++) {
        const t = saved[index];
        if (t.isDisposed || this.skip.has(t)) continue;
        if (t.dtype !== 'float32' || t.size < MIN_COMPRESSED_ELEMENTS || copiesWeight(node, t)) {
          this.skip.add(t);
          continue;
        }
        const g = groups.get(t.dataId) ?? { t, slots: [] };
        g.slots.push({ node, index, shape: t.shape });
        groups.set(t.dataId, g);
      }
    }
    for (const [dataId, g] of groups) {
      if (backend.refCount(dataId) !== g.slots.length) continue;
      const packed = untaped(() => saveQuantized(g.t, this.bits, false, this.rng));
      for (const p of packed.tensors) tf.keep(p);
      const entry: Entry = {
        slots: g.slots,
        packed,
        restored: null,
        pending: new Set(g.slots.map((s) => s.node.id)),
      };
      this.entries.push(entry);
      for (const s of g.slots) {
        s.node.saved![s.index].dispose();
        const list = this.byNode.get(s.node.id) ?? [];
        list.push(entry);
        this.byNode.set(s.node.id, list);
      }
    }
  }

  /** Restores a node's tensors before its gradient, frees them after their last reader. */
  readonly hooks: BackpropHooks = {
    beforeNode: (node) => {
      for (const e of this.byNode.get(node.id) ?? []) {
        if (e.restored !== null) continue;
        const value = e.packed.restore(e.packed.tensors);
        e.restored = e.slots.map((s) => {
          const same =
            s.shape.length === value.shape.length && s.shape.every((d, i) => d === value.shape[i]);
          const t = same ? value : tf.reshape(value, s.shape);
          s.node.saved![s.index] = t;
          return t;
        });
        e.restored.push(value);
      }
    },
    afterNode: (node) => {
      for (const e of this.byNode.get(node.id) ?? []) {
        e.pending.delete(node.id);
        if (e.pending.size === 0 && e.restored !== null) {
          tf.dispose(e.restored);
          tf.dispose(e.packed.tensors);
        }
      }
    },
  };

  /** Number of saved buffers held quantized. */
  get compressedCount(): number {
    return this.entries.length;
  }

  dispose(): void {
    for (const e of this.entries) {
      if (e.restored !== null) tf.dispose(e.restored);
      tf.dispose(e.packed.tensors);
    }
    this.entries.length = 0;
    this.byNode.clear();
  }
}

/** A weight's saved copy (wasm copies saved tensors): its node reads a variable of that shape. */
function copiesWeight(node: TapeNode, t: tf.Tensor): boolean {
  return Object.values(node.inputs).some(
    (x) =>
      x instanceof tf.Variable &&
      x.shape.length === t.shape.length &&
      x.shape.every((d: number, i: number) => d === t.shape[i]),
  );
}

/** A recorded stage whose saved activations are held quantized until its backward. */
export class CompressedTape {
  constructor(
    private readonly tape: StageTape,
    private readonly compressor: TapeCompressor,
  ) {}

  get output(): tf.Tensor {
    return this.tape.output;
  }

  /** Number of saved buffers held quantized. */
  get compressedTensors(): number {
    return this.compressor.compressedCount;
  }

  /** Backward of the stage, restoring each node's tensors only for its own gradient. */
  backward(dy: tf.Tensor, xs: tf.Tensor[]): tf.Tensor[] {
    return backprop(this.tape, dy, xs, this.compressor.hooks);
  }

  /** Frees the compressed buffers and the tape (the output belongs to the caller). */
  dispose(): void {
    this.compressor.dispose();
    this.tape.dispose();
  }
}

/**
 * Records a forward (`f` runs the layers and calls `afterLayer` after each) with its saved
 * activations quantized to `bits` bits as soon as the forward no longer needs them in full
 * precision. The "keep compressed" mode of the joint planner. Tensors the step holds anyway
 * (the stage input and output), weights and small tensors stay exact.
 */
export function recordCompressed(
  f: (afterLayer: () => void) => tf.Tensor,
  bits: PackedBits,
  rng: Rng,
): CompressedTape {
  let compressor: TapeCompressor | undefined;
  const tape = recordTape((nodes) => {
    const c = new TapeCompressor(nodes, bits, rng);
    compressor = c;
    return f(() => c.sweep());
  });
  if (compressor === undefined) throw new Error('recordCompressed: the forward did not run');
  compressor.sweep();
  return new CompressedTape(tape, compressor);
}
