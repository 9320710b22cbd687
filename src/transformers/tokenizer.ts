/**
 * Byte-level tokenizer over a fixed set of byte values: token k is the k-th byte of `bytes`
 * (UTF-8 text is encoded, then each byte looked up). A byte outside the set is an error naming
 * the character and its position, never a silent substitute.
 */
export class ByteTokenizer {
  readonly bytes: number[];
  private readonly index: Int16Array;

  constructor(bytes: Iterable<number>) {
    this.bytes = [...new Set(bytes)].sort((a, b) => a - b);
    if (this.bytes.length === 0) throw new Error('ByteTokenizer: the vocabulary is empty');
    if (this.bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255))
      throw new Error('ByteTokenizer: vocabulary entries must be byte values 0..255');
    this.index = new Int16Array(256).fill(-1);
    this.bytes.forEach((b, i) => {
      this.index[b] = i;
    });
  }

  /** Printable ASCII (space to '~') and newline: 96 tokens, independent of any corpus. */
  static ascii(): ByteTokenizer {
    const b = [10];
    for (let c = 32; c < 127; c++) b.push(c);
    return new ByteTokenizer(b);
  }

  /** Every byte value that occurs in `text`. */
  static fromText(text: string): ByteTokenizer {
    return new ByteTokenizer(new TextEncoder().encode(text));
  }

  get vocabSize(): number {
    return this.bytes.length;
  }

  encode(text: string): Int32Array {
    const raw = new TextEncoder().encode(text);
    const out = new Int32Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const t = this.index[raw[i]];
      if (t < 0) {
        const before = new TextDecoder().decode(raw.subarray(0, i));
        const ch = [...new TextDecoder().decode(raw.subarray(i, i + 4))][0] ?? '';
        throw new Error(
          `text character ${JSON.stringify(ch)} (byte 0x${raw[i].toString(16)}) at position ${[...before].length} is not in the tokenizer's vocabulary of ${this.vocabSize} bytes`,
        );
      }
      out[i] = t;
    }
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    const raw = new Uint8Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize)
        throw new Error(`token id ${id} is outside the vocabulary 0..${this.vocabSize - 1}`);
      raw[i] = this.bytes[id];
    }
    return new TextDecoder().decode(raw);
  }

  toJSON(): { kind: 'bytes'; bytes: number[] } {
    return { kind: 'bytes', bytes: this.bytes };
  }

  static fromJSON(json: unknown): ByteTokenizer {
    const j = json as { kind?: unknown; bytes?: unknown };
    if (j?.kind !== 'bytes' || !Array.isArray(j.bytes))
      throw new Error(`unknown tokenizer description ${JSON.stringify(json)}`);
    return new ByteTokenizer(j.bytes as number[]);
  }
}
