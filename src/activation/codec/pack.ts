import type { PackedBits } from './bits.js';

/** Number of 32-bit words that hold `count` codes of `bits` bits. */
export function packedWords(count: number, bits: PackedBits): number {
  return Math.ceil((count * bits) / 32);
}

/**
 * Packs codes of `bits` bits (values 0..2^bits-1) into 32-bit words, 32/bits codes per word, the
 * first code in the lowest bits. Codes out of range throw.
 */
export function packCodes(codes: ArrayLike<number>, bits: PackedBits): Int32Array {
  const per = 32 / bits;
  const max = (1 << bits) - 1;
  const words = new Int32Array(packedWords(codes.length, bits));
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (!(c >= 0 && c <= max) || !Number.isInteger(c))
      throw new Error(`packCodes: code ${c} at ${i} does not fit in ${bits} bits`);
    words[(i / per) | 0] |= c << ((i % per) * bits);
  }
  return words;
}

/** Inverse of `packCodes`: the first `count` codes. */
export function unpackCodes(words: Int32Array, bits: PackedBits, count: number): Uint8Array {
  if (count > (words.length * 32) / bits)
    throw new Error(`unpackCodes: ${words.length} words hold fewer than ${count} codes`);
  const per = 32 / bits;
  const mask = (1 << bits) - 1;
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = (words[(i / per) | 0] >>> ((i % per) * bits)) & mask;
  return out;
}

/** Codes `from` .. `from + count - 1` of words packed by `packCodes` (a row range, say). */
export function unpackCodeRange(
  words: Int32Array,
  bits: PackedBits,
  from: number,
  count: number,
): Uint8Array {
  if (from < 0 || from + count > (words.length * 32) / bits)
    throw new Error(
      `unpackCodeRange: codes ${from}..${from + count} are not all in ${words.length} words`,
    );
  const per = 32 / bits;
  const mask = (1 << bits) - 1;
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const j = from + i;
    out[i] = (words[(j / per) | 0] >>> ((j % per) * bits)) & mask;
  }
  return out;
}

/**
 * ORs code `c` (width `bits`, 1..8) into `words` at bit position `at`, the low bits first; a code
 * may straddle two words (widths 3, 5, 6, 7).
 */
export function writeCodeAt(words: Int32Array, at: number, c: number, bits: number): void {
  const w = at >>> 5;
  const shift = at & 31;
  words[w] |= c << shift;
  if (shift + bits > 32) words[w + 1] |= c >>> (32 - shift);
}

/** The code of width `bits` written by `writeCodeAt` at bit position `at`. */
export function readCodeAt(words: Int32Array, at: number, bits: number): number {
  const w = at >>> 5;
  const shift = at & 31;
  let c = words[w] >>> shift;
  if (shift + bits > 32) c |= words[w + 1] << (32 - shift);
  return c & ((1 << bits) - 1);
}
