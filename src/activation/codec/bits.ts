/** Code widths frugal packs into 32-bit words: 32 / bits codes per word. */
export const PACKED_BITS = [1, 2, 4, 8] as const;
export type PackedBits = (typeof PACKED_BITS)[number];

/** Bits a saved activation may use: a packed width, or 32 for the exact float32 tensor. */
export const ACTIVATION_BITS = [1, 2, 4, 8, 32] as const;
export type ActivationBits = (typeof ACTIVATION_BITS)[number];

export function isPackedBits(b: unknown): b is PackedBits {
  return (PACKED_BITS as readonly unknown[]).includes(b);
}

export function isActivationBits(b: unknown): b is ActivationBits {
  return (ACTIVATION_BITS as readonly unknown[]).includes(b);
}

/** Smallest packed width that holds codes 0..count-1. */
export function bitsForCodes(count: number): PackedBits {
  for (const b of PACKED_BITS) if (count <= 2 ** b) return b;
  throw new Error(`cannot pack ${count} distinct codes in at most 8 bits`);
}
