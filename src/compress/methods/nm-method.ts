import { copyModel, type LayerEdit, rewriteModel } from '../../rewrite/rewrite-model.js';
import { boolField, checkKnownFields, enumField, intField, numberField } from '../options.js';
import { asKernelLayer, packedReplacement } from '../packed/layer-kernels.js';
import type { CompressionMethod } from '../registry.js';
import { checkNM } from '../sparsity/combinations.js';
import { finetuneWithMasks } from '../sparsity/masked-finetune.js';
import { keptMagnitude, magnitudeNMMask } from '../sparsity/nm-mask.js';
import { transposableNMMask } from '../sparsity/transposable.js';

export interface NMOptions {
  n: number;
  m: number;
  /** Masks that are N:M along the output channels too (backward-friendly). */
  transposable: boolean;
  solver: 'exact' | 'greedy';
  /** Fine-tuning steps with the masks fixed (needs labelled data); 0 = none. */
  finetuneSteps: number;
  learningRate: number;
  batchSize: number;
}

const FIELDS = ['n', 'm', 'transposable', 'solver', 'finetuneSteps', 'learningRate', 'batchSize'];

/** 'nm': N:M sparsity along input channels, stored as N values + a subset rank per group. */
export const nmMethod: CompressionMethod<NMOptions> = {
  name: 'nm',
  summary: 'N:M sparsity (magnitude or transposable masks, optional masked fine-tuning)',
  appliesTo: 'Dense and Conv2D layers whose input channels split into groups of M',
  parseOptions: (raw, where) => {
    checkKnownFields(raw, FIELDS, where);
    const o: NMOptions = {
      n: intField(raw, 'n', where, { min: 1, max: 15, fallback: 2 }),
      m: intField(raw, 'm', where, { min: 2, max: 16, fallback: 4 }),
      transposable: boolField(raw, 'transposable', where, false),
      solver: enumField(raw, 'solver', where, ['exact', 'greedy'] as const, 'exact'),
      finetuneSteps: intField(raw, 'finetuneSteps', where, { min: 0, max: 1e6, fallback: 0 }),
      learningRate: numberField(raw, 'learningRate', where, { min: 1e-8, max: 1, fallback: 5e-4 }),
      batchSize: intField(raw, 'batchSize', where, { min: 1, max: 1e5, fallback: 64 }),
    };
    checkNM(o.n, o.m, where);
    return o;
  },
  apply: async (model, options, ctx) => {
    const notes: Record<string, string> = {};
    const work = copyModel(model); // fine-tuning must not touch the input
    const masks = new Map<string, Uint8Array>();
    const plan = new Map<string, { o: NMOptions }>();
    for (const layer of work.layers) {
      const k = asKernelLayer(layer);
      const o = options.forLayer(layer.name);
      if (!k || !o) continue;
      const [inC, outC] = k.kernelShape.slice(-2);
      if (inC % o.m !== 0 || (o.transposable && outC % o.m !== 0)) {
        notes[layer.name] =
          `skipped: ${inC} in / ${outC} out channels do not fit ${o.n}:${o.m} groups`;
        continue;
      }
      const kernel = k.kernel();
      let mask: Uint8Array;
      let how = `${o.n}:${o.m} magnitude`;
      if (o.transposable) {
        const t = transposableNMMask(kernel, k.kernelShape, o.n, o.m, o.solver);
        mask = t.mask;
        how = `${o.n}:${o.m} transposable (${o.solver}${o.solver === 'greedy' ? `, ${t.greedyRepairs}/${t.blocks} blocks repaired` : ''})`;
      } else mask = magnitudeNMMask(kernel, k.kernelShape, o.n, o.m);
      masks.set(layer.name, mask);
      plan.set(layer.name, { o });
      notes[layer.name] = `${how}, keeps ${(keptMagnitude(kernel, mask) * 100).toFixed(1)}% of |w|`;
    }
    const steps = options.global.finetuneSteps;
    if (steps > 0) {
      if (!ctx.data) throw new Error('nm: finetuneSteps > 0 needs labelled data (pass data)');
      const isFloat = (name: string) => {
        const k = asKernelLayer(work.getLayer(name));
        return k !== null && k.codec.bits === 0 && k.codec.m === 0;
      };
      const floatMasks = new Map([...masks].filter(([name]) => isFloat(name)));
      const r = finetuneWithMasks(work, floatMasks, ctx.data, {
        steps,
        batchSize: options.global.batchSize,
        learningRate: options.global.learningRate,
        seed: ctx.seed,
        onStep: (s) =>
          ctx.onProgress?.({ method: 'nm', item: 'fine-tuning', done: s, total: steps }),
      });
      const first = r.losses[0];
      const last = r.losses[r.losses.length - 1];
      notes['(fine-tuning)'] =
        `${steps} steps, loss ${first.toFixed(4)} -> ${last.toFixed(4)}${r.frozen.length ? `; conv kernels frozen (no conv filter gradient on this backend): ${r.frozen.join(', ')}` : ''}`;
    }
    const edits = new Map<string, LayerEdit>();
    for (const [name, { o }] of plan) {
      const k = asKernelLayer(work.getLayer(name));
      if (!k) continue;
      edits.set(name, {
        replace: [packedReplacement(k, { ...k.codec, n: o.n, m: o.m }, { mask: masks.get(name) })],
      });
    }
    const out = rewriteModel(work, edits).model;
    work.dispose();
    return { model: out, layers: notes };
  },
};
