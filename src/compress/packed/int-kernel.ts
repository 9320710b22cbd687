import * as tf from '@tensorflow/tfjs';
import { type ActQuant, IntLinear } from '../../wasm/int-linear.js';
import { tryWasmKernels } from '../../wasm/module.js';
import { unpackCodes } from '../quantize/pack.js';
import { kernelLayout } from '../sparsity/kernel-layout.js';
import type { KernelCodec } from './kernel-codec.js';

/**
 * When packed layers run on frugal's wasm integer kernels instead of decoding their kernel to
 * float32: on the `cpu` and `wasm` backends, for quantized codecs without N:M sparsity, outside
 * gradient tapes (a gradient through a packed layer takes the decoded float path, exactly).
 */
export interface IntegerKernelSettings {
  /** Default true; false keeps every packed layer on the decoded float path. */
  enabled: boolean;
  /** Activation quantization: per row (sample; default) or per tensor, dynamic. */
  activations: 'row' | 'tensor';
}

const settings: IntegerKernelSettings = { enabled: true, activations: 'row' };
const INTEGER_BACKENDS = ['cpu', 'wasm'];

export function setIntegerKernels(s: Partial<IntegerKernelSettings>): IntegerKernelSettings {
  if (s.activations !== undefined && s.activations !== 'row' && s.activations !== 'tensor') {
    throw new Error(`integer kernels: activations must be 'row' or 'tensor', got ${s.activations}`);
  }
  if (s.enabled !== undefined && typeof s.enabled !== 'boolean')
    throw new Error(`integer kernels: enabled must be true or false, got ${s.enabled}`);
  Object.assign(settings, s);
  return { ...settings };
}

export function integerKernelSettings(): IntegerKernelSettings {
  return { ...settings };
}

export function activationQuant(): ActQuant {
  return { mode: settings.activations };
}

/** Why a codec has no integer kernel, or null when it has one. */
export function codecIntegerGap(c: KernelCodec): string | null {
  if (c.bits === 0) return 'float kernel (not quantized)';
  if (c.m > 0) return `${c.n}:${c.m} sparse kernel`;
  return null;
}

/** Why a packed layer with this codec runs decoded right now, or null when it runs on integers. */
export function integerGap(c: KernelCodec): string | null {
  if (!settings.enabled) return 'integer kernels switched off';
  const backend = tf.getBackend();
  if (!INTEGER_BACKENDS.includes(backend))
    return `backend '${backend}' (integer kernels: cpu, wasm)`;
  const gap = codecIntegerGap(c);
  if (gap) return gap;
  if (!tryWasmKernels()) return 'the wasm kernel module cannot start here';
  if ((tf.engine().state as { gradientDepth: number }).gradientDepth > 0)
    return 'inside a gradient tape';
  return null;
}

/**
 * The integer kernel of packed arrays [codes, scale, offset]: signed codes q = c - 2^(bits-1)
 * (int4 storage up to 4 bits, int8 above), w = q * scale + zero with zero = offset +
 * 2^(bits-1) * scale (exactly 0 for symmetric codes).
 */
export function intLinearOf(
  codes: ArrayLike<number>,
  scale: ArrayLike<number>,
  offset: ArrayLike<number>,
  kernelShape: readonly number[],
  c: KernelCodec,
  bias: Float32Array | null,
): IntLinear {
  const gap = codecIntegerGap(c);
  if (gap) throw new Error(`no integer kernel for a ${gap}`);
  const l = kernelLayout(kernelShape);
  const n = l.outChannels;
  const k = l.size / n;
  const half = 2 ** (c.bits - 1);
  const unpacked = unpackCodes(codes, c.bits, l.size);
  const q = new Int8Array(l.size);
  for (let i = 0; i < l.size; i++) q[i] = unpacked[i] - half;
  const s = new Float32Array(n);
  const z = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    const ch = scale.length > 1 ? j : 0;
    s[j] = scale[ch];
    z[j] = offset[ch] + half * scale[ch];
  }
  return new IntLinear({ q, k, n, bits: c.bits <= 4 ? 4 : 8, scale: s, zero: z, bias });
}

/** Unsigned packed-code values back from an integer kernel (inverse of `intLinearOf`). */
export function unsignedCodes(lin: IntLinear, bits: number): Uint16Array {
  const q = lin.codes();
  const half = 2 ** (bits - 1);
  return Uint16Array.from(q, (v) => v + half);
}
