/** Widest per-sample width: the greedy starts every sample here (ActNN). */
export const MAX_SAMPLE_BITS = 8;

function variance(c: number, b: number): number {
  return c / (2 ** b - 1) ** 2;
}

/**
 * ActNN's per-sample bit allocation inside one saved tensor: minimise sum_i C_i / (2^b_i - 1)^2
 * subject to sum_i b_i = N * avgBits, b_i integers in 1..8. Greedy: start every sample at 8 bits
 * and remove one bit at a time from the sample whose term grows least. Each term's growth per
 * removed bit rises as its bits fall (convex), so this greedy reaches the optimum. Cost:
 * O(N (8 - avgBits) log N) with a binary heap.
 */
export function allocateSampleBits(costs: ArrayLike<number>, avgBits: number): Uint8Array {
  const n = costs.length;
  if (!Number.isInteger(avgBits) || avgBits < 1 || avgBits > MAX_SAMPLE_BITS)
    throw new Error(`allocateSampleBits: average bits must be an integer in 1..8, got ${avgBits}`);
  for (let i = 0; i < n; i++)
    if (!(costs[i] >= 0) || costs[i] === Number.POSITIVE_INFINITY)
      throw new Error(`allocateSampleBits: cost of sample ${i} must be finite and >= 0`);
  const bits = new Uint8Array(n).fill(MAX_SAMPLE_BITS);
  const growth = (i: number) => variance(costs[i], bits[i] - 1) - variance(costs[i], bits[i]);
  const heap = new MinHeap(n);
  for (let i = 0; i < n; i++) heap.push(i, growth(i));
  for (let removed = 0; removed < n * (MAX_SAMPLE_BITS - avgBits); removed++) {
    const i = heap.pop();
    bits[i]--;
    if (bits[i] > 1) heap.push(i, growth(i));
  }
  return bits;
}

/** The objective sum_i C_i / (2^b_i - 1)^2 of a per-sample allocation. */
export function sampleBitsCost(costs: ArrayLike<number>, bits: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < costs.length; i++) s += variance(costs[i], bits[i]);
  return s;
}

/** Binary min-heap of sample indices by key; ties go to the lower index. */
class MinHeap {
  private readonly ids: Int32Array;
  private readonly keys: Float64Array;
  private size = 0;

  constructor(capacity: number) {
    this.ids = new Int32Array(capacity);
    this.keys = new Float64Array(capacity);
  }

  private less(a: number, b: number): boolean {
    return (
      this.keys[a] < this.keys[b] || (this.keys[a] === this.keys[b] && this.ids[a] < this.ids[b])
    );
  }

  private swap(a: number, b: number): void {
    [this.ids[a], this.ids[b]] = [this.ids[b], this.ids[a]];
    [this.keys[a], this.keys[b]] = [this.keys[b], this.keys[a]];
  }

  push(id: number, key: number): void {
    let i = this.size++;
    this.ids[i] = id;
    this.keys[i] = key;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): number {
    if (this.size === 0) throw new Error('MinHeap: empty');
    const top = this.ids[0];
    this.size--;
    this.ids[0] = this.ids[this.size];
    this.keys[0] = this.keys[this.size];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.size && this.less(l, m)) m = l;
      if (r < this.size && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
}
