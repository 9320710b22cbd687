// The browser example: trains the CNN on MNIST digits with float32 saved activations (plain) and
// with 2-bit activations side by side, shows loss, accuracy and memory live, compresses the
// trained model to int8 weights, downloads it and loads it back. Bundled by build.ts (esbuild).
// URL parameters: backend, steps, batch, filters (e.g. 8,16), dense, evalEvery, auto=1 (start at
// load), bench=1 (timed rounds for bench/browser.ts). State for tests: window.frugalDemo.
import * as tf from '@tensorflow/tfjs';
import {
  activationMemory,
  buildCnn,
  type ClassificationData,
  type CompressedTraining,
  compress,
  compressForTraining,
  configForMethods,
  evaluate,
  FAST_KERNEL_BACKENDS,
  FrugalAdam,
  formatBytes,
  gatherBatch,
  initEngine,
  makeRng,
  permutation,
  type StepMemory,
  toPlainModel,
  trainStep,
  trainStepMeasured,
  useFastKernels,
} from '../../src/index.js';
import { renderSvgPlot } from '../../src/report/svg-plot.js';

interface Side {
  losses: number[];
  accuracy: number | null;
  stepMs: number[];
  memory: StepMemory | null;
}

interface DemoState {
  phase: 'idle' | 'init' | 'training' | 'compressing' | 'done' | 'reloaded' | 'error';
  backend: string | null;
  step: number;
  steps: number;
  pageToFirstStepMs: number | null;
  plain: Side;
  act2: Side;
  compressed: { accuracy: number; bytes: number; fileName: string } | null;
  reloaded: { accuracy: number; maxAbsDiff: number } | null;
  bench: Record<string, unknown> | null;
  errors: string[];
}

const side = (): Side => ({ losses: [], accuracy: null, stepMs: [], memory: null });
const state: DemoState = {
  phase: 'idle',
  backend: null,
  step: 0,
  steps: 0,
  pageToFirstStepMs: null,
  plain: side(),
  act2: side(),
  compressed: null,
  reloaded: null,
  bench: null,
  errors: [],
};
(window as unknown as { frugalDemo: DemoState }).frugalDemo = state;

const $ = <T extends HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`page has no #${id}`);
  return e as T;
};
const params = new URLSearchParams(location.search);
const intParam = (name: string, fallback: number): number => {
  const v = params.get(name);
  if (v === null) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`URL parameter ${name} must be a positive integer, got '${v}'`);
  return n;
};

function fail(e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  state.errors.push(message);
  state.phase = 'error';
  $('status').textContent = 'error';
  $('errors').textContent = state.errors.join('\n');
  console.error(e);
}

/** digits.bin (build.ts): u32 train, u32 test, then per split u8 pixels and u8 labels. */
async function loadDigits(): Promise<ClassificationData> {
  const res = await fetch('digits.bin');
  if (!res.ok) throw new Error(`digits.bin: HTTP ${res.status} (run the build first)`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const view = new DataView(bytes.buffer);
  const counts = [view.getUint32(0, true), view.getUint32(4, true)];
  let o = 8;
  const splits = counts.map((count) => {
    const x = new Float32Array(count * 784);
    for (let i = 0; i < x.length; i++) x[i] = bytes[o + i] / 255;
    o += x.length;
    const y = Int32Array.from(bytes.subarray(o, o + count));
    o += count;
    return { x, y, count };
  });
  if (o !== bytes.length) throw new Error(`digits.bin: ${bytes.length} bytes, expected ${o}`);
  return {
    name: 'mnist',
    sampleShape: [28, 28, 1],
    numClasses: 10,
    train: splits[0],
    test: splits[1],
  };
}

function showMemory(): void {
  $('live-memory').textContent =
    `${formatBytes(tf.memory().numBytes)} in ${tf.memory().numTensors} tensors`;
}

function render(): void {
  $('status').textContent = state.phase;
  for (const key of ['plain', 'act2'] as const) {
    const s = state[key];
    const last = s.losses.at(-1);
    $(`${key}-step`).textContent = `${s.losses.length} / ${state.steps}`;
    $(`${key}-loss`).textContent = last === undefined ? '-' : last.toFixed(4);
    $(`${key}-acc`).textContent = s.accuracy === null ? '-' : `${(s.accuracy * 100).toFixed(1)}%`;
    $(`${key}-ms`).textContent = s.stepMs.length ? `${median(s.stepMs).toFixed(0)} ms` : '-';
    $(`${key}-peak`).textContent = s.memory ? formatBytes(s.memory.peakBytes) : '-';
    $(`${key}-saved`).textContent = s.memory ? formatBytes(s.memory.savedActivationBytes) : '-';
  }
  showMemory();
  const series = (['plain', 'act2'] as const)
    .filter((k) => state[k].losses.length > 0)
    .map((k) => ({
      name: k === 'plain' ? 'plain' : '2-bit activations',
      line: true,
      markers: false,
      points: state[k].losses.map((y, x) => ({ x: x + 1, y })),
    }));
  if (series.length) {
    $('loss-chart').innerHTML = renderSvgPlot({
      title: 'training loss',
      xLabel: 'step',
      yLabel: 'loss',
      series,
      width: 480,
      height: 300,
    });
  }
  const measured = (['plain', 'act2'] as const).filter((k) => state[k].memory);
  if (measured.length) {
    $('memory-chart').innerHTML = renderSvgPlot({
      title: 'step memory (MiB): saved for backward vs peak',
      xLabel: 'saved for backward (MiB)',
      yLabel: 'step peak (MiB)',
      width: 480,
      height: 300,
      series: measured.map((k) => {
        const m = state[k].memory as StepMemory;
        return {
          name: k === 'plain' ? 'plain' : '2-bit activations',
          points: [
            {
              x: m.savedActivationBytes / 2 ** 20,
              y: m.peakBytes / 2 ** 20,
              label: formatBytes(m.peakBytes),
            },
          ],
        };
      }),
    });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

interface Trainer {
  key: 'plain' | 'act2';
  t: CompressedTraining;
  optimizer: tf.Optimizer;
}

async function makeTrainers(data: ClassificationData): Promise<Trainer[]> {
  const filters = (params.get('filters') ?? '32,64').split(',').map(Number) as [number, number];
  const base = buildCnn({
    inputShape: [28, 28, 1],
    numClasses: 10,
    filters,
    dense: intParam('dense', 128),
    seed: 1,
  });
  // Plain: the same layers saving float32 activations (L0); stock tfjs-wasm has no conv backward.
  const plain = await compressForTraining(base, { level: 'L0', seed: 1 }, data);
  const act2 = await compressForTraining(base, { level: 'L3', bits: 2, seed: 1 }, data);
  base.dispose();
  return [
    // FrugalAdam: tf.train.adam's arithmetic with fewer update temporaries (as `frugal train`).
    { key: 'plain', t: plain, optimizer: new FrugalAdam(0.002) },
    { key: 'act2', t: act2, optimizer: new FrugalAdam(0.002) },
  ];
}

async function stepOnce(
  tr: Trainer,
  batch: ReturnType<typeof gatherBatch>,
  measure: boolean,
): Promise<number> {
  const ctx = { model: tr.t.model, optimizer: tr.optimizer, forward: tr.t.forward };
  if (measure) {
    const r = await trainStepMeasured(ctx, batch);
    state[tr.key].memory = r.memory;
    return r.loss;
  }
  const t0 = performance.now();
  const loss = trainStep(ctx, batch);
  state[tr.key].stepMs.push(performance.now() - t0);
  return loss;
}

async function startEngine(backend: string): Promise<void> {
  await initEngine({ backend, wasmPaths: new URL('./', location.href).href, seed: 1 });
  if ((FAST_KERNEL_BACKENDS as readonly string[]).includes(backend)) useFastKernels();
  state.backend = tf.getBackend();
  $('active-backend').textContent = state.backend;
}

async function run(): Promise<void> {
  const backend = params.get('backend') ?? ($('backend') as HTMLSelectElement).value;
  const steps = intParam('steps', Number(($('steps') as HTMLInputElement).value));
  const batchSize = intParam('batch', Number(($('batch') as HTMLInputElement).value));
  const evalEvery = intParam('evalEvery', 25);
  state.phase = 'init';
  state.steps = steps;
  render();
  await startEngine(backend);
  const data = await loadDigits();
  const trainers = await makeTrainers(data);
  if (params.get('bench') === '1') {
    await bench(trainers, data, batchSize);
    return;
  }
  state.phase = 'training';
  const order = permutation(data.train.count, makeRng(7));
  let from = 0;
  for (let step = 0; step < steps; step++) {
    if (from + batchSize > data.train.count) from = 0;
    const batch = gatherBatch(
      data.train,
      data.sampleShape,
      data.numClasses,
      order,
      from,
      from + batchSize,
    );
    from += batchSize;
    for (const tr of step % 2 ? [...trainers].reverse() : trainers) {
      state[tr.key].losses.push(await stepOnce(tr, batch, step === 1));
      tr.t.afterStep();
    }
    tf.dispose([batch.xs, batch.ys]);
    if (step === 0) state.pageToFirstStepMs = performance.now();
    state.step = step + 1;
    if ((step + 1) % evalEvery === 0 || step === steps - 1) {
      for (const tr of trainers)
        state[tr.key].accuracy = evaluate(tr.t.model, data, 'test', { batchSize: 100 }).accuracy;
    }
    render();
    await tf.nextFrame();
  }
  state.phase = 'compressing';
  render();
  await compressAndOffer(trainers[1].t.model, data);
  for (const tr of trainers) {
    tr.t.dispose();
    tr.t.model.dispose();
    tr.optimizer.dispose();
  }
  state.phase = 'done';
  render();
}

let compressedModel: tf.LayersModel | null = null;

async function compressAndOffer(trained: tf.LayersModel, data: ClassificationData): Promise<void> {
  const plain = await toPlainModel(trained);
  const { model } = await compress(plain.model, configForMethods(['int8']), {
    data,
    measure: false,
  });
  plain.model.dispose();
  compressedModel = model;
  let bytes = 0;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      bytes = (a.weightData as ArrayBuffer).byteLength + JSON.stringify(a.modelTopology).length;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const accuracy = evaluate(model, data, 'test', { batchSize: 100 }).accuracy;
  state.compressed = { accuracy, bytes, fileName: 'frugal-cnn-int8' };
  $('compressed').textContent =
    `int8 weights: ${formatBytes(bytes)} (topology + weights), test accuracy ${(accuracy * 100).toFixed(1)}%`;
  const download = $<HTMLButtonElement>('download');
  download.disabled = false;
  download.onclick = () => {
    model.save('downloads://frugal-cnn-int8').catch(fail);
  };
  $<HTMLInputElement>('load').onchange = (ev) => {
    const files = Array.from((ev.target as HTMLInputElement).files ?? []);
    reload(files, data).catch(fail);
  };
}

async function reload(files: File[], data: ClassificationData): Promise<void> {
  const json = files.find((f) => f.name.endsWith('.json'));
  const weights = files.filter((f) => !f.name.endsWith('.json'));
  if (!json || weights.length === 0)
    throw new Error(
      `load: pick the model's .json and its .weights.bin, got ${files.map((f) => f.name).join(', ') || 'nothing'}`,
    );
  const model = await tf.loadLayersModel(tf.io.browserFiles([json, ...weights]));
  const accuracy = evaluate(model, data, 'test', { batchSize: 100 }).accuracy;
  let maxAbsDiff = Number.NaN;
  if (compressedModel) {
    const xs = tf.tensor(data.test.x.subarray(0, 100 * 784), [100, 28, 28, 1]);
    maxAbsDiff = tf.tidy(
      () =>
        tf
          .max(
            tf.abs(
              tf.sub(
                model.predict(xs) as tf.Tensor,
                (compressedModel as tf.LayersModel).predict(xs) as tf.Tensor,
              ),
            ),
          )
          .dataSync()[0],
    );
    xs.dispose();
  }
  model.dispose();
  state.reloaded = { accuracy, maxAbsDiff };
  state.phase = 'reloaded';
  $('reloaded').textContent =
    `loaded ${json.name}: test accuracy ${(accuracy * 100).toFixed(1)}%, largest output difference to the compressed model ${maxAbsDiff.toExponential(2)}`;
  render();
}

/** Timed rounds for bench/browser.ts: plain and 2-bit interleaved, dataSync time counted. */
async function bench(
  trainers: Trainer[],
  data: ClassificationData,
  batchSize: number,
): Promise<void> {
  state.phase = 'training';
  const rounds = intParam('rounds', 5);
  const perRound = intParam('perRound', 3);
  const proto = tf.Tensor.prototype as unknown as { dataSync: () => unknown };
  const own = proto.dataSync;
  const sync = { ms: 0, calls: 0 };
  proto.dataSync = function (this: tf.Tensor) {
    const t0 = performance.now();
    try {
      return own.call(this);
    } finally {
      sync.ms += performance.now() - t0;
      sync.calls++;
    }
  };
  const order = permutation(data.train.count, makeRng(7));
  const batch = gatherBatch(data.train, data.sampleShape, data.numClasses, order, 0, batchSize);
  const out: Record<string, { stepMs: number[]; syncMs: number[]; syncCalls: number[] }> = {};
  // Forward + backward peak without the update, as Node's bench:act-memory measures it.
  const activationPeak: Record<string, number> = {};
  try {
    for (const tr of trainers) {
      out[tr.key] = { stepMs: [], syncMs: [], syncCalls: [] };
      await stepOnce(tr, batch, false); // warm-up (shader compiles, kernel setup)
      if (tr === trainers[0]) state.pageToFirstStepMs = performance.now();
      await stepOnce(tr, batch, true);
      activationPeak[tr.key] = activationMemory(
        tr.t.model,
        tr.t.forward,
        batch.xs,
        batch.ys,
      ).peakBytes;
    }
    for (let r = 0; r < rounds; r++) {
      for (const tr of r % 2 ? [...trainers].reverse() : trainers) {
        for (let i = 0; i < perRound; i++) {
          sync.ms = 0;
          sync.calls = 0;
          const t0 = performance.now();
          trainStep({ model: tr.t.model, optimizer: tr.optimizer, forward: tr.t.forward }, batch);
          out[tr.key].stepMs.push(performance.now() - t0);
          out[tr.key].syncMs.push(sync.ms);
          out[tr.key].syncCalls.push(sync.calls);
        }
      }
      state.step = r + 1;
      await tf.nextFrame();
    }
  } finally {
    proto.dataSync = own;
    tf.dispose([batch.xs, batch.ys]);
  }
  const summary = (k: 'plain' | 'act2') => ({
    stepMs: median(out[k].stepMs),
    stepMsAll: out[k].stepMs,
    dataSyncMsPerStep: median(out[k].syncMs),
    dataSyncCallsPerStep: median(out[k].syncCalls),
    peakBytes: state[k].memory?.peakBytes ?? null,
    savedActivationBytes: state[k].memory?.savedActivationBytes ?? null,
    activationPeakBytes: activationPeak[k] ?? null,
  });
  state.bench = {
    backend: tf.getBackend(),
    batch: batchSize,
    rounds,
    perRound,
    plain: summary('plain'),
    act2: summary('act2'),
  };
  state.phase = 'done';
  render();
}

$('train').addEventListener('click', () => {
  if (state.phase === 'idle') run().catch(fail);
});
window.addEventListener('error', (e) => fail(e.error ?? e.message));
window.addEventListener('unhandledrejection', (e) => fail(e.reason));
if (params.get('backend'))
  ($('backend') as HTMLSelectElement).value = params.get('backend') as string;
if (params.get('auto') === '1') run().catch(fail);
showMemory();
