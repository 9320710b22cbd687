/** Elements `[start, end)` of one variable (flattened) that one replica updates. */
export interface OwnedRange {
  start: number;
  end: number;
}

/**
 * Splits each variable of `sizes` elements into `parties` contiguous ranges (sizes differing by at
 * most one element) and returns the ranges replica `index` owns, one per variable (possibly
 * empty). Every element is owned by exactly one replica.
 */
export function ownedRanges(sizes: number[], parties: number, index: number): OwnedRange[] {
  if (!Number.isInteger(parties) || parties < 1 || index < 0 || index >= parties)
    throw new Error(`ownedRanges: replica ${index} of ${parties} does not exist`);
  return sizes.map((size) => ({
    start: Math.floor((size * index) / parties),
    end: Math.floor((size * (index + 1)) / parties),
  }));
}
