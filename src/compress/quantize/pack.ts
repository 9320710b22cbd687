/**
 * Packing of small unsigned integer codes into int32 words: `codesPerWord(bits)` codes per word,
 * code k of a word in bits [k*bits, (k+1)*bits). tfjs has no uint8 dtype, so packed int32 words
 * are how codes are stored in tensors and in `weights.bin`.
 */

/** Codes per int32 word. The highest shift stays <= 30 so every shift is a positive int32. */
export function codesPerWord(bits: number): number {
  if (!Number.isInteger(bits) || bits < 1 || bits > 16) {
    throw new Error(`code width must be an integer from 1 to 16 bits, got ${bits}`);
  }
  let per = Math.floor(32 / bits);
  if ((per - 1) * bits > 30) per--;
  return per;
}

export function packedWords(count: number, bits: number): number {
  return Math.ceil(count / codesPerWord(bits));
}

/** Packs `codes` (each in [0, 2^bits)) into int32 words. */
export function packCodes(codes: ArrayLike<number>, bits: number): Int32Array {
  const per = codesPerWord(bits);
  const limit = 2 ** bits;
  const out = new Int32Array(Math.ceil(codes.length / per));
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (!(c >= 0 && c < limit) || !Number.isInteger(c)) {
      throw new Error(`code ${c} at ${i} does not fit in ${bits} bits`);
    }
    out[(i / per) | 0] |= c << ((i % per) * bits);
  }
  return out;
}

/** Unpacks `count` codes of `bits` bits from int32 words. */
export function unpackCodes(words: ArrayLike<number>, bits: number, count: number): Uint16Array {
  const per = codesPerWord(bits);
  if (words.length < Math.ceil(count / per)) {
    throw new Error(
      `packed codes: ${count} codes of ${bits} bits need ${Math.ceil(count / per)} words, got ${words.length}`,
    );
  }
  const mask = 2 ** bits - 1;
  const out = new Uint16Array(count);
  let i = 0;
  for (let w = 0; i < count; w++) {
    const word = words[w];
    for (let k = 0; k < per && i < count; k++, i++) out[i] = (word >>> (k * bits)) & mask;
  }
  return out;
}
