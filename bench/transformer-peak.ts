// Activation peak of one forward+backward of the zoo Transformer (MNIST rows as sequences), float32
// saves (L0) against 2-bit saves (L3), at the default backward chunk size and a smaller one.
// Run: npm run bench:transformer-peak [-- --backend wasm --batch 32]
//   (writes bench/results/transformer-peak.json)
import * as tf from '@tensorflow/tfjs';
import { compressActivations } from '../src/activation/convert.js';
import { streamingForward } from '../src/activation/execution/streaming-forward.js';
import { activationMemory } from '../src/activation/measure.js';
import { backwardChunkBytes, setBackwardChunkBytes } from '../src/engine/settings.js';
import { buildModel } from '../src/models/zoo.js';
import { fixed, mb, ratio } from '../src/report/format.js';
import { peakTimeline } from '../src/report/peak-timeline.js';
import { classificationLoss, trainableVariables } from '../src/train/step.js';
import {
  interleavedTimes,
  mnistBatchBench,
  printTable,
  upperMedian,
  writeResults,
} from './lib/index.js';

const { backend, batchSize, batch } = await mnistBatchBench('sequence');
const TIMED = 5;
const base = buildModel('transformer', { inputShape: [28, 28], numClasses: 10, seed: 1 });
const defaultChunk = backwardChunkBytes();

interface Row {
  level: 'L0' | 'L3';
  chunkBytes: number;
  savedBytes: number;
  peakBytes: number;
  /** Kernel (and output shape) at which the step's live bytes peak. */
  peakAt: string;
  ms: number;
}

interface Variant {
  level: 'L0' | 'L3';
  chunkBytes: number;
  model: tf.LayersModel;
  step: () => void;
}
const variants: Variant[] = [];
const results: Row[] = [];
for (const chunkBytes of [defaultChunk, defaultChunk / 4])
  for (const level of ['L0', 'L3'] as const) {
    setBackwardChunkBytes(chunkBytes);
    const r = await compressActivations(base, { level }, { warn: () => {} });
    const forward = streamingForward(r.model);
    const mem = activationMemory(r.model, forward, batch.xs, batch.ys);
    const vars = trainableVariables(r.model);
    const step = () => {
      setBackwardChunkBytes(chunkBytes);
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(
          () => classificationLoss(batch.ys, forward(batch.xs, true)),
          vars,
        );
        tf.dispose([value, ...Object.values(grads)]);
      });
    };
    const t = peakTimeline(step, 1);
    variants.push({ level, chunkBytes, model: r.model, step });
    results.push({
      level,
      chunkBytes,
      savedBytes: mem.savedBytes,
      peakBytes: mem.peakBytes,
      peakAt: t.peak ? `#${t.peak.index} ${t.peak.kernel} [${t.peak.shapes[0] ?? ''}]` : '',
      ms: Number.NaN,
    });
  }
// The four variants take turns in the same rounds (rotating order), so load hits them alike.
const times = interleavedTimes(
  variants.map((v) => v.step),
  { rounds: TIMED, warmup: 1, rotate: true },
);
times.forEach((ts, i) => {
  results[i].ms = upperMedian(ts);
});
for (const v of variants) v.model.dispose();
setBackwardChunkBytes(defaultChunk);

const l0 = (r: Row) => results.find((u) => u.level === 'L0' && u.chunkBytes === r.chunkBytes)!;
printTable(
  `Transformer (dModel 64, 4 heads, 2 blocks, 28x28 sequences), ${backend}, batch ${batchSize}: ` +
    'one forward+backward, activation part of the peak (weights excluded)',
  ['saves', 'chunk KiB', 'saved MB', 'peak MB', 'peak vs L0', 'peak at', 'fwd+bwd ms'],
  results.map((r) => [
    r.level === 'L0' ? 'float32 (L0)' : '2-bit (L3)',
    r.chunkBytes / 1024,
    mb(r.savedBytes),
    mb(r.peakBytes),
    ratio(l0(r).peakBytes / r.peakBytes),
    r.peakAt,
    fixed(r.ms),
  ]),
);
const resultAt = (l: 'L0' | 'L3', chunkBytes: number) =>
  results.find((u) => u.level === l && u.chunkBytes === chunkBytes);
/** L0 peak / L3 peak at a chunk size: 2 = 2-bit saves halve the activation peak. */
const peakReduction = (chunkBytes: number) => {
  const r = resultAt('L3', chunkBytes);
  return r ? l0(r).peakBytes / r.peakBytes : Number.NaN;
};
const l3 = resultAt('L3', defaultChunk);
writeResults('transformer-peak', {
  headline: {
    peakReduction2bitDefaultChunk: peakReduction(defaultChunk),
    peakReduction2bitQuarterChunk: peakReduction(defaultChunk / 4),
    savedReduction2bit: l3 ? l0(l3).savedBytes / l3.savedBytes : Number.NaN,
    // Forward+backward time of 2-bit saves over float32 saves, default chunk, same rounds.
    stepOverhead2bit: l3 ? l3.ms / l0(l3).ms - 1 : Number.NaN,
  },
  command: `npm run bench:transformer-peak -- --backend ${backend} --batch ${batchSize}`,
  backend,
  batch: batchSize,
  defaultChunkBytes: defaultChunk,
  note: `activationMemory peak (forward+backward minus weights); peakAt from peakTimeline; ms: median of ${TIMED} interleaved rounds (rotating order).`,
  results,
});
