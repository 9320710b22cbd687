import type { KernelCodec } from '../../../src/compress/packed/kernel-codec.js';

/** A per-channel kernel codec at `bits` bits (symmetric by default), without N:M sparsity. */
export const channelCodec = (
  bits: number,
  scheme: 'symmetric' | 'affine' = 'symmetric',
): KernelCodec => ({ bits, scheme, granularity: 'channel', n: 0, m: 0 });
