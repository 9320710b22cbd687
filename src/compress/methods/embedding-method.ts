import { type LayerEdit, rewriteModel } from '../../rewrite/rewrite-model.js';
import { checkKnownFields, intField } from '../options.js';
import { QuantizedEmbedding } from '../packed/quantized-embedding.js';
import type { CompressionMethod } from '../registry.js';

/** 'embedding': row-wise quantized Embedding tables (greedy per-row ranges, fp16 scale + bias). */
export const embeddingMethod: CompressionMethod<{ bits: number }> = {
  name: 'embedding',
  summary: 'row-wise 4-bit Embedding tables with the greedy range search',
  appliesTo: 'Embedding layers (without maskZero)',
  parseOptions: (raw, where) => {
    checkKnownFields(raw, ['bits'], where);
    return { bits: intField(raw, 'bits', where, { min: 2, max: 8, fallback: 4 }) };
  },
  apply: async (model, options) => {
    const edits = new Map<string, LayerEdit>();
    const notes: Record<string, string> = {};
    for (const layer of model.layers) {
      const o = options.forLayer(layer.name);
      if (!o || layer.getClassName() !== 'Embedding') continue;
      const cfg = layer.getConfig();
      if (cfg.maskZero) {
        notes[layer.name] = 'skipped: maskZero embeddings are not supported';
        continue;
      }
      const [table] = layer.getWeights();
      const [inputDim, outputDim] = table.shape;
      const values = table.dataSync();
      edits.set(layer.name, {
        replace: [
          {
            className: QuantizedEmbedding.className,
            config: { name: layer.name, inputDim, outputDim, bits: o.bits },
            weights: (l) => (l as QuantizedEmbedding).setTable(values),
          },
        ],
      });
      notes[layer.name] = `row-wise int${o.bits} (fp16 scale + bias per row)`;
    }
    return { model: rewriteModel(model, edits).model, layers: notes };
  },
};
