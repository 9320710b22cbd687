import { checkKnownFields } from '../options.js';
import { foldBatchNorm } from '../quantize/fold-bn.js';
import type { CompressionMethod } from '../registry.js';

/** 'fold-bn': folds batch-norm layers into the conv/dense before them. */
export const foldBnMethod: CompressionMethod<Record<string, never>> = {
  name: 'fold-bn',
  summary: 'fold batch-norm into the preceding Conv2D/Dense (exact in inference)',
  appliesTo:
    'a BatchNormalization layer right after a linear-activation Conv2D or Dense used only by it',
  parseOptions: (raw, where) => {
    checkKnownFields(raw, [], where);
    return {};
  },
  apply: async (model, options) => {
    const r = await foldBatchNorm(model, (name) => options.forLayer(name) === null);
    return {
      model: r.model,
      layers: Object.fromEntries(r.folded.map((p) => [p.producer, `folded ${p.batchNorm}`])),
    };
  },
};
