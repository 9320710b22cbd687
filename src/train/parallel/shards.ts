/** One worker's share of a batch: rows `[start, start + size)`. */
export interface Shard {
  start: number;
  size: number;
}

/**
 * Splits `batchSize` rows into `parts` contiguous shards whose sizes differ by at most one (the
 * first `batchSize % parts` shards get the extra row). Shards are empty when the batch has fewer
 * rows than parts.
 */
export function splitBatch(batchSize: number, parts: number): Shard[] {
  if (!Number.isInteger(batchSize) || batchSize < 0)
    throw new Error(`splitBatch: batch size must be a non-negative integer, got ${batchSize}`);
  if (!Number.isInteger(parts) || parts < 1)
    throw new Error(`splitBatch: parts must be a positive integer, got ${parts}`);
  const base = Math.floor(batchSize / parts);
  const extra = batchSize % parts;
  const shards: Shard[] = [];
  let start = 0;
  for (let i = 0; i < parts; i++) {
    const size = base + (i < extra ? 1 : 0);
    shards.push({ start, size });
    start += size;
  }
  return shards;
}
