import { checkNM } from './combinations.js';
import { kernelLayout } from './kernel-layout.js';
import { isNMMask } from './nm-mask.js';

/**
 * Transposable N:M masks: every M x M block (M input channels x M output channels, per spatial
 * position) keeps exactly N weights in each row and each column, so the kernel and its transpose
 * are both N:M (forward and backward matmuls can both use N:M kernels). Blocks are row-major:
 * entry a*M + b is input a, output b of the block.
 */

/** Whether a block mask has exactly N ones in every row and column. */
export function isTransposableBlock(mask: ArrayLike<number>, n: number, m: number): boolean {
  for (let a = 0; a < m; a++) {
    let row = 0;
    let col = 0;
    for (let b = 0; b < m; b++) {
      row += mask[a * m + b] ? 1 : 0;
      col += mask[b * m + a] ? 1 : 0;
    }
    if (row !== n || col !== n) return false;
  }
  return true;
}

/**
 * Exact block mask maximising the kept |w| by min-cost flow: source -> row (capacity N), row ->
 * column (capacity 1, cost -|w|), column -> sink (capacity N); N*M augmentations along shortest
 * paths (Bellman-Ford, costs may be negative). Optimal because successive shortest paths is.
 */
export function exactTransposableBlock(score: ArrayLike<number>, n: number, m: number): Uint8Array {
  const source = 2 * m;
  const sink = 2 * m + 1;
  const nodes = 2 * m + 2;
  const to: number[] = [];
  const cap: number[] = [];
  const cost: number[] = [];
  const adj: number[][] = Array.from({ length: nodes }, () => []);
  const addEdge = (u: number, v: number, c: number, w: number) => {
    adj[u].push(to.length);
    to.push(v);
    cap.push(c);
    cost.push(w);
    adj[v].push(to.length);
    to.push(u);
    cap.push(0);
    cost.push(-w);
  };
  const cell: number[] = [];
  for (let a = 0; a < m; a++) addEdge(source, a, n, 0);
  for (let a = 0; a < m; a++) {
    for (let b = 0; b < m; b++) {
      cell.push(to.length);
      addEdge(a, m + b, 1, -Math.abs(score[a * m + b]));
    }
  }
  for (let b = 0; b < m; b++) addEdge(m + b, sink, n, 0);
  const dist = new Float64Array(nodes);
  const via = new Int32Array(nodes);
  for (let flow = 0; flow < n * m; flow++) {
    dist.fill(Number.POSITIVE_INFINITY);
    via.fill(-1);
    dist[source] = 0;
    for (let round = 0; round < nodes; round++) {
      let changed = false;
      for (let u = 0; u < nodes; u++) {
        if (dist[u] === Number.POSITIVE_INFINITY) continue;
        for (const e of adj[u]) {
          if (cap[e] > 0 && dist[u] + cost[e] < dist[to[e]] - 1e-15) {
            dist[to[e]] = dist[u] + cost[e];
            via[to[e]] = e;
            changed = true;
          }
        }
      }
      if (!changed) break;
    }
    if (via[sink] < 0) throw new Error('transposable mask: no feasible flow (internal error)');
    for (let v = sink; v !== source; v = to[via[v] ^ 1]) {
      cap[via[v]] -= 1;
      cap[via[v] ^ 1] += 1;
    }
  }
  return Uint8Array.from(cell, (e) => (cap[e] === 0 ? 1 : 0));
}

/**
 * The reference greedy: visit entries by decreasing |w| and keep one while its row and column
 * have fewer than N. Fast, but it can paint itself into a corner and return an invalid mask.
 */
export function greedyTransposableBlock(
  score: ArrayLike<number>,
  n: number,
  m: number,
): Uint8Array {
  const order = Array.from({ length: m * m }, (_, i) => i).sort(
    (x, y) => Math.abs(score[y]) - Math.abs(score[x]) || x - y,
  );
  const rows = new Int32Array(m);
  const cols = new Int32Array(m);
  const mask = new Uint8Array(m * m);
  for (const i of order) {
    const a = Math.floor(i / m);
    const b = i % m;
    if (rows[a] < n && cols[b] < n) {
      mask[i] = 1;
      rows[a]++;
      cols[b]++;
    }
  }
  return mask;
}

export type TransposableSolver = 'exact' | 'greedy';

export interface TransposableResult {
  mask: Uint8Array;
  blocks: number;
  /** Blocks where the greedy's mask was invalid and the exact solver was used instead. */
  greedyRepairs: number;
}

/**
 * Transposable N:M mask of a kernel [...spatial, in, out] (in and out multiples of M). 'greedy'
 * is validated: any block where it fails gets the exact solution, so the mask is always valid.
 */
export function transposableNMMask(
  kernel: ArrayLike<number>,
  shape: readonly number[],
  n: number,
  m: number,
  solver: TransposableSolver = 'exact',
): TransposableResult {
  checkNM(n, m);
  const l = kernelLayout(shape);
  if (l.inChannels % m !== 0 || l.outChannels % m !== 0) {
    throw new Error(
      `transposable ${n}:${m} mask: kernel [${shape}] needs input (${l.inChannels}) and output (${l.outChannels}) channels that are multiples of ${m}`,
    );
  }
  const mask = new Uint8Array(l.size);
  const block = new Float64Array(m * m);
  let blocks = 0;
  let greedyRepairs = 0;
  const at = (r: number, i: number, o: number) => (r * l.inChannels + i) * l.outChannels + o;
  for (let r = 0; r < l.spatial; r++) {
    for (let gi = 0; gi < l.inChannels; gi += m) {
      for (let go = 0; go < l.outChannels; go += m) {
        for (let a = 0; a < m; a++)
          for (let b = 0; b < m; b++) block[a * m + b] = kernel[at(r, gi + a, go + b)];
        let bm: Uint8Array;
        if (solver === 'greedy') {
          bm = greedyTransposableBlock(block, n, m);
          if (!isTransposableBlock(bm, n, m)) {
            bm = exactTransposableBlock(block, n, m);
            greedyRepairs++;
          }
        } else bm = exactTransposableBlock(block, n, m);
        for (let a = 0; a < m; a++)
          for (let b = 0; b < m; b++) mask[at(r, gi + a, go + b)] = bm[a * m + b];
        blocks++;
      }
    }
  }
  return { mask, blocks, greedyRepairs };
}

/** N:M along the input channels AND along the output channels. */
export function isTransposableNMMask(
  mask: ArrayLike<number>,
  shape: readonly number[],
  n: number,
  m: number,
): boolean {
  if (!isNMMask(mask, shape, n, m)) return false;
  const l = kernelLayout(shape);
  if (l.outChannels % m !== 0) return false;
  for (let r = 0; r < l.spatial; r++) {
    for (let i = 0; i < l.inChannels; i++) {
      for (let go = 0; go < l.outChannels; go += m) {
        let kept = 0;
        for (let b = 0; b < m; b++)
          kept += mask[(r * l.inChannels + i) * l.outChannels + go + b] ? 1 : 0;
        if (kept !== n) return false;
      }
    }
  }
  return true;
}
