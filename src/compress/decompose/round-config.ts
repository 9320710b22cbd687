import type * as tf from '@tensorflow/tfjs';
import {
  type DecomposeConfig,
  type LayerDecomposition,
  settingsFor,
  validateDecomposeConfig,
} from './config.js';
import { isDense, readDense } from './layer-info.js';
import { resolveSvdRank } from './rank-resolve.js';
import { type RankTiming, type RoundRankOptions, roundRankForSpeed } from './rank-rounding.js';

export interface RoundedRank {
  layer: string;
  from: number;
  to: number;
  timings: RankTiming[];
}

/**
 * Resolves the rank of every layer `config` decomposes by SVD and replaces it by the fastest
 * rank on the active backend that is not larger (so the parameter budget still holds; see
 * roundRankForSpeed). Returns a config with explicit ranks for those layers.
 */
export async function roundSvdRanksForSpeed(
  model: tf.LayersModel,
  config: DecomposeConfig,
  options: Omit<RoundRankOptions, 'maxRank'> = {},
): Promise<{ config: DecomposeConfig; rounded: RoundedRank[] }> {
  const cfg = validateDecomposeConfig(config);
  const layers: Record<string, LayerDecomposition> = { ...(cfg.layers ?? {}) };
  const rounded: RoundedRank[] = [];
  for (const layer of model.layers) {
    const s = settingsFor(cfg, layer.name);
    if (s.skip || s.method !== 'svd' || !isDense(layer)) continue;
    const d = readDense(layer);
    const rank = resolveSvdRank(d, s);
    const r = await roundRankForSpeed(d.inDim, d.units, rank, { ...options, maxRank: rank });
    rounded.push({ layer: layer.name, from: rank, to: r.rank, timings: r.timings });
    layers[layer.name] = {
      ...(cfg.layers?.[layer.name] ?? {}),
      method: 'svd',
      rank: r.rank,
    };
    for (const k of ['energy', 'ratio', 'maxParams'] as const) delete layers[layer.name][k];
  }
  return { config: { ...cfg, layers }, rounded };
}
