// Public API of decompositions (browser-safe): the model- and layer-level entry points, the
// versioned config and the TT layer; everything else as the `decomposition` namespace.
export * from './config.js';
export { decomposeLayer, methodFits } from './decompose-layer.js';
export { type DecomposeReport, type DecomposeResult, decomposeModel } from './decompose-model.js';
export {
  type RankCurve,
  type RankSelection,
  type SelectRanksOptions,
  selectRanks,
} from './rank-select.js';
export type { LayerReport } from './replacement.js';
export { type RoundedRank, roundSvdRanksForSpeed } from './round-config.js';
export {
  type SpeedDecision,
  type SpeedOptions,
  type SpeedTarget,
  selectBySpeed,
} from './speed-select.js';
export * as decomposition from './toolkit.js';
export { TtmDense, type TtmDenseArgs } from './ttm-dense.js';
