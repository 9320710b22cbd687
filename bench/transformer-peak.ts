// Activation peak of one forward+backward of the zoo Transformer (MNIST rows as sequences), float32
// saves (L0) against 2-bit saves (L3), at the default backward chunk size and a smaller one.
// Run: npm run bench:transformer-peak [-- --backend wasm --batch 32]
//   (writes bench/results/transformer-peak.json)
import * as tf from '@tensorflow/tfjs';
import { compressActivations } from '../src/activation/convert.js';
import { activationMemory } from '../src/activation/measure.js';
import { streamingForward } from '../src/activation/streaming-forward.js';
import { renderTable } from '../src/cli/table.js';
import { gatherBatch } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { backwardChunkBytes, setBackwardChunkBytes } from '../src/engine/settings.js';
import { writeJsonAtomic } from '../src/io/atomic-write.js';
import { buildModel } from '../src/models/zoo.js';
import { fixed, mb, ratio } from '../src/report/format.js';
import { peakTimeline } from '../src/report/peak-timeline.js';
import { classificationLoss, trainableVariables } from '../src/train/step.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const backend = arg('backend', 'wasm');
const batchSize = Number(arg('batch', '32'));
await initEngine({ backend, seed: 0 });
const data = loadMnist({ trainCount: batchSize, testCount: 10, seed: 1, layout: 'sequence' });
const rows = Int32Array.from({ length: batchSize }, (_, i) => i);
const batch = gatherBatch(data.train, data.sampleShape, data.numClasses, rows, 0, batchSize);
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

const results: Row[] = [];
for (const chunkBytes of [defaultChunk, defaultChunk / 4])
  for (const level of ['L0', 'L3'] as const) {
    setBackwardChunkBytes(chunkBytes);
    const r = await compressActivations(base, { level }, { warn: () => {} });
    const forward = streamingForward(r.model);
    const mem = activationMemory(r.model, forward, batch.xs, batch.ys);
    const vars = trainableVariables(r.model);
    const step = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(
          () => classificationLoss(batch.ys, forward(batch.xs, true)),
          vars,
        );
        tf.dispose([value, ...Object.values(grads)]);
      });
    const t = peakTimeline(step, 1);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      step();
      times.push(performance.now() - t0);
    }
    results.push({
      level,
      chunkBytes,
      savedBytes: mem.savedBytes,
      peakBytes: mem.peakBytes,
      peakAt: t.peak ? `#${t.peak.index} ${t.peak.kernel} [${t.peak.shapes[0] ?? ''}]` : '',
      ms: times.sort((a, b) => a - b)[2],
    });
    r.model.dispose();
  }
setBackwardChunkBytes(defaultChunk);

const l0 = (r: Row) => results.find((u) => u.level === 'L0' && u.chunkBytes === r.chunkBytes)!;
console.log(
  `Transformer (dModel 64, 4 heads, 2 blocks, 28x28 sequences), ${backend}, batch ${batchSize}: ` +
    'one forward+backward, activation part of the peak (weights excluded)',
);
console.log(
  renderTable(
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
  ),
);
writeJsonAtomic('bench/results/transformer-peak.json', {
  bench: 'transformer-peak',
  backend,
  batch: batchSize,
  date: new Date().toISOString(),
  note: 'activationMemory peak (forward+backward minus weights); peakAt from peakTimeline; ms: median of 5.',
  results,
});
