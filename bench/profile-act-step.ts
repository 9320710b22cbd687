// Where the 2-bit compressed CNN step spends its time, against the plain tfjs step with the fast
// kernels (what `npm start` compares), at batch 64 on the wasm backend.
// Run: npm run bench:profile-act-step   (writes bench/results/profile-act-step.json)
//      npm run bench:profile-act-step -- --model resnet   (the zoo ResNet at batch 32, whole-batch
//      forward as batch norm needs: writes profile-act-step-resnet.json, headline keys prefixed
//      'resnet', e.g. resnetStepOverheadVsStock2bit)
//
// 1. Whole steps, interleaved rounds: plain (stock layers, fast kernels) and 2-bit chunked
//    (`--act-bits 2`, as `npm start` trains it), each split into forward+backward and optimizer.
// 2. A V8 CPU profile of a few steps of one row (--profile-codec): self time bucketed by where the code lives (codec
//    quantize / restore / pack, compressed backward JS, tfjs-wasm kernels, fast kernels, other).
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import {
  type ActivationCodecKernel,
  setActivationCodec,
} from '../src/activation/codec/codec-kernel.js';
import { chunkedForward } from '../src/activation/execution/chunked-execution.js';
import { streamingForward } from '../src/activation/execution/streaming-forward.js';
import { compressForTraining } from '../src/activation/training.js';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { useFastKernels } from '../src/kernels/index.js';
import { buildModel } from '../src/models/zoo.js';
import { computeGradients } from '../src/train/gradients.js';
import { lossByName } from '../src/train/loss.js';
import { makeOptimizer } from '../src/train/optimizer.js';
import { KERNELS_WASM_BASE64 } from '../src/wasm/kernels-wasm.js';
import {
  argValue,
  bootstrapMedianCi,
  disposeBatch,
  firstRows,
  interleavedWallCpu,
  median,
  numberArg,
  pairedOverheads,
  printTable,
  spreadOf,
  writeResults,
} from './lib/index.js';

const MODEL = argValue('model', 'cnn');
if (MODEL !== 'cnn' && MODEL !== 'resnet')
  throw new Error(`--model must be cnn or resnet, got '${MODEL}'`);
const BATCH = MODEL === 'resnet' ? 32 : 64;
const ROUNDS = numberArg('rounds', 30);
const PROFILE_STEPS = numberArg('profile-steps', 4);
const engine = await initEngine({ backend: 'wasm', seed: 0 });
useFastKernels();
const data = loadMnist({ trainCount: 256, testCount: 64, seed: 1, layout: 'image' });
const quiet = { warn: () => {} };

const stock = buildModel(MODEL, { inputShape: data.sampleShape, numClasses: 10, seed: 1 });
const base = buildModel(MODEL, { inputShape: data.sampleShape, numClasses: 10, seed: 1 });
const act = await compressForTraining(base, { level: 'L3' }, data, quiet);
base.dispose();

interface Setup {
  label: string;
  model: tf.LayersModel;
  forward: (x: tf.Tensor, training: boolean) => tf.Tensor;
  optimizer: tf.Optimizer;
  codec: ActivationCodecKernel;
}
const setups: Setup[] = [
  {
    label: 'plain (stock layers, fast kernels)',
    model: stock,
    forward: (x, training) => stock.apply(x, { training }) as tf.Tensor,
    optimizer: makeOptimizer('adam', 0.002),
    codec: 'js',
  },
  {
    label: `2-bit (L3, chunks of ${act.chunkRows ?? 'none'}), JS codec`,
    model: act.model,
    forward: act.forward,
    optimizer: makeOptimizer('adam', 0.002),
    codec: 'js',
  },
  {
    label: `2-bit, wasm-simd codec`,
    model: act.model,
    forward: act.forward,
    optimizer: makeOptimizer('adam', 0.002),
    codec: 'wasm-simd',
  },
  {
    label: `2-bit, wasm codec (exact; the default)`,
    model: act.model,
    forward: act.forward,
    optimizer: makeOptimizer('adam', 0.002),
    codec: 'wasm',
  },
  {
    // The same step with every layer in chunks of chunkRows (no second level for the narrow
    // layers, forwardSplit): what the default step was before the split, in the same rounds.
    label: `2-bit, wasm codec, one chunk level`,
    model: act.model,
    forward:
      act.chunkRows === null
        ? act.forward
        : chunkedForward(streamingForward(act.model), act.chunkRows),
    optimizer: makeOptimizer('adam', 0.002),
    codec: 'wasm',
  },
];
// The ResNet: the same 2-bit model with its residual blocks run layer by layer (the fused block
// ops off), the step before issue 19's fused blocks, in the same rounds.
if (MODEL === 'resnet')
  setups.push({
    label: '2-bit, wasm codec, residual blocks unfused',
    model: act.model,
    forward: streamingForward(act.model, { fuse: false }),
    optimizer: makeOptimizer('adam', 0.002),
    codec: 'wasm',
  });
// Which row the CPU profile samples: --profile-codec 0 (2-bit js), 1 (wasm-simd), 2 (wasm, the
// default codec and so the default here), -1 (the plain step).
const PROFILED = 1 + numberArg('profile-codec', 2);
const b = firstRows(data, BATCH);

/** One step split into its gradient pass and its optimizer update; returns [passMs, optMs]. */
function splitStep(s: Setup): [number, number] {
  const ctx = {
    forward: s.forward,
    loss: lossByName('logits'),
    variables: s.model.trainableWeights.map((w) => w.read() as tf.Variable),
  };
  setActivationCodec(s.codec);
  const t0 = performance.now();
  const g = tf.tidy(() => {
    const r = computeGradients(ctx, b);
    tf.dispose(r.value);
    return r.grads;
  });
  // Read one value so the pass has finished (the wasm backend is synchronous anyway).
  const t1 = performance.now();
  tf.tidy(() => s.optimizer.applyGradients(g));
  const t2 = performance.now();
  tf.dispose(g);
  return [t1 - t0, t2 - t1];
}

const parts: [number, number][][] = setups.map(() => []);
// Each visit runs a row BLOCK times and times the last: the runs before it pay for what the
// previous row left (its garbage to collect, caches cold for this model), as a user training
// one model never does. Wall and process CPU time of the timed run; overheads paired per round.
const BLOCK = numberArg('block', 2);
const WARMUP = 1;
const timed = interleavedWallCpu(
  setups.map((s, i) => () => {
    parts[i].push(splitStep(s));
  }),
  { rounds: ROUNDS, warmup: WARMUP, rotate: true, block: BLOCK },
);
const leaked = setups.slice(1).map((s) => {
  const before = tf.memory().numTensors;
  splitStep(s);
  return tf.memory().numTensors - before;
});
// The timed runs' split: the last of each block, after the warm-up rounds.
const timedParts = parts.map((p) => p.filter((_, k) => k % BLOCK === BLOCK - 1).slice(WARMUP));
const stepMs = timed.wall.map(median);
const cpuMs = timed.cpu.map(median);
const passMs = timedParts.map((p) => median(p.map((x) => x[0])));
const optMs = timedParts.map((p) => median(p.map((x) => x[1])));
const overWall = setups.map((_, i) => spreadOf(pairedOverheads(timed.wall[i], timed.wall[0])));
const overCpu = setups.map((_, i) => spreadOf(pairedOverheads(timed.cpu[i], timed.cpu[0])));
// The headline step's paired overheads: a bootstrap 95% interval of their median beside the
// quartiles (how far another run of the same length may move the median).
const ciWall = bootstrapMedianCi(pairedOverheads(timed.wall[3], timed.wall[0]));
const ciCpu = bootstrapMedianCi(pairedOverheads(timed.cpu[3], timed.cpu[0]));

// Engine kernels one step launches (tf.profile; nested kernels counted too), plain against the
// profiled row: what a chunked step pays per op dispatch.
async function kernelsOf(s: Setup): Promise<{ count: number; byName: Record<string, number> }> {
  const info = await tf.profile(() => {
    splitStep(s);
  });
  const byName: Record<string, number> = {};
  for (const k of info.kernels) byName[k.name] = (byName[k.name] ?? 0) + 1;
  const sorted = Object.entries(byName).sort((a, x) => x[1] - a[1]);
  return { count: info.kernels.length, byName: Object.fromEntries(sorted) };
}
const plainKernels = await kernelsOf(setups[0]);
const profiledKernels = await kernelsOf(setups[PROFILED === 0 ? 3 : PROFILED]);
const oneLevelKernels = await kernelsOf(setups[4]);

// 2. CPU profile of the 2-bit step: self time by bucket.
type Bucket =
  | 'quantize'
  | 'restore'
  | 'pack/unpack'
  | 'codec other (saved state, scratch)'
  | 'copies out of tfjs-wasm (readSync)'
  | 'compressed layers + backward (JS)'
  | 'tfjs-wasm kernels'
  | 'frugal fast kernels'
  | 'frugal wasm kernels'
  | 'tfjs core (tape, ops)'
  | 'gc'
  | 'other';
// Wasm modules run: tfjs-wasm's (hundreds of functions), frugal's (a few dozen) and sometimes a
// one-function helper of the runtime; each is
// one wasm:// url in the profile, told apart by the highest function index seen.
let frugalWasmUrl = '';
function bucketOf(url: string, fn: string): Bucket {
  if (fn === '(garbage collector)') return 'gc';
  if (url === frugalWasmUrl) return 'frugal wasm kernels';
  if (url.includes('/activation/codec/')) {
    if (/dequantize/i.test(fn)) return 'restore';
    if (/quantize|groupRange/i.test(fn)) return 'quantize';
    if (url.endsWith('/pack.ts')) return 'pack/unpack';
    return 'codec other (saved state, scratch)';
  }
  if (fn.endsWith('readSync') && url.includes('tfjs-backend-wasm'))
    return 'copies out of tfjs-wasm (readSync)';
  if (url.includes('/src/activation/')) return 'compressed layers + backward (JS)';
  if (url.includes('/src/kernels/')) return 'frugal fast kernels';
  if (url.includes('tfjs-backend-wasm') || fn === 'wasm-function') return 'tfjs-wasm kernels';
  if (url.includes('@tensorflow')) return 'tfjs core (tape, ops)';
  if (url.startsWith('wasm://')) return 'tfjs-wasm kernels';
  return 'other';
}
/** Functions in a wasm binary: imported functions plus the function section's entries. */
function wasmFunctionCount(b: Uint8Array): number {
  let p = 8;
  const leb = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const x = b[p++];
      v |= (x & 127) << shift;
      shift += 7;
      if (x < 128) return v >>> 0;
    }
  };
  let count = 0;
  while (p < b.length) {
    const id = b[p++];
    const size = leb();
    const end = p + size;
    if (id === 2) {
      // Imports: module name, field name, kind; kind 0 is a function (then its type index).
      for (let n = leb(); n > 0; n--) {
        p += leb();
        p += leb();
        const kind = b[p++];
        if (kind === 0) {
          leb();
          count++;
        } else {
          // Table (a reference type, then limits), memory (limits) or global (type, mutability).
          if (kind === 1) p++;
          if (kind === 3) p += 2;
          else {
            const flags = b[p++];
            leb();
            if (flags & 1) leb();
          }
        }
      }
    } else if (id === 3) count += leb();
    p = end;
  }
  return count;
}
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 200 });
await session.post('Profiler.start');
const tp0 = performance.now();
for (let i = 0; i < PROFILE_STEPS; i++) splitStep(setups[PROFILED]);
const profiledMs = performance.now() - tp0;
const { profile } = await session.post('Profiler.stop');
session.disconnect();
const maxIndex = new Map<string, number>();
for (const n of profile.nodes) {
  const m = /^wasm-function\[(\d+)\]/.exec(n.callFrame.functionName);
  const { url } = n.callFrame;
  if (url.startsWith('wasm://'))
    maxIndex.set(url, Math.max(maxIndex.get(url) ?? 0, m ? Number(m[1]) : 0));
}
// frugal's module: the url whose highest function index seen is the largest that still fits in
// frugal's function count (the tiny helper's is 0, tfjs-wasm's far above it).
const frugalFunctions = wasmFunctionCount(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
const fits = [...maxIndex.entries()].filter(([, m]) => m < frugalFunctions);
if (fits.length > 0) frugalWasmUrl = fits.sort((a, b) => b[1] - a[1])[0][0];
const selfUs = new Map<Bucket, number>();
const byFn = new Map<string, number>();
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const deltas = profile.timeDeltas ?? [];
(profile.samples ?? []).forEach((id, k) => {
  const n = nodes.get(id);
  if (!n) return;
  const dt = deltas[k + 1] ?? 0;
  const { url, functionName } = n.callFrame;
  const bucket = bucketOf(url, functionName);
  selfUs.set(bucket, (selfUs.get(bucket) ?? 0) + dt);
  const key = `${functionName || '(anon)'} ${url.split('/').slice(-2).join('/')}`;
  byFn.set(key, (byFn.get(key) ?? 0) + dt);
});
const totalUs = [...selfUs.values()].reduce((a, x) => a + x, 0);
const perStepMs = (us: number) => us / 1000 / PROFILE_STEPS;
const breakdown = Object.fromEntries(
  [...selfUs.entries()].sort((a, x) => x[1] - a[1]).map(([k, v]) => [k, perStepMs(v)]),
);
const topFunctions = [...byFn.entries()]
  .sort((a, x) => x[1] - a[1])
  .slice(0, 25)
  .map(([fn, us]) => ({ fn, msPerStep: perStepMs(us) }));

const rows = setups.map((s, i) => ({
  variant: s.label,
  stepMs: stepMs[i],
  stepCpuMs: cpuMs[i],
  forwardBackwardMs: passMs[i],
  optimizerMs: optMs[i],
  overheadVsPlain: i === 0 ? null : overWall[i],
  cpuOverheadVsPlain: i === 0 ? null : overCpu[i],
}));
const f2 = (x: number) => x.toFixed(1);
const pc = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
const sp = (o: ReturnType<typeof spreadOf> | null) =>
  o === null ? '' : `${pc(o.median)} [${pc(o.q1)}, ${pc(o.q3)}] (${pc(o.min)}..${pc(o.max)})`;
printTable(
  `Step time (ms, median of ${ROUNDS} rounds, last of ${BLOCK} runs per visit); overhead vs plain per round: median [quartiles] (range)`,
  ['variant', 'wall', 'cpu', 'fwd+bwd', 'opt', 'wall overhead', 'cpu overhead'],
  rows.map((r) => [
    r.variant,
    f2(r.stepMs),
    f2(r.stepCpuMs),
    f2(r.forwardBackwardMs),
    f2(r.optimizerMs),
    sp(r.overheadVsPlain),
    sp(r.cpuOverheadVsPlain),
  ]),
);
printTable(
  `${setups[PROFILED].label}: CPU profile self time (ms per step)`,
  ['part', 'ms'],
  Object.entries(breakdown).map(([part, v]) => [part, f2(v)]),
);
printTable(
  'Top functions (ms per step)',
  ['function', 'ms'],
  topFunctions.map((t) => [t.fn, f2(t.msPerStep)]),
);
console.log(
  `${setups[3].label} vs plain: median overhead wall ${pc(overWall[3].median)} (95% CI ${pc(ciWall.lo)}..${pc(ciWall.hi)}), CPU ${pc(overCpu[3].median)} (95% CI ${pc(ciCpu.lo)}..${pc(ciCpu.hi)}); load average ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
console.log(
  `Engine kernels per step: plain ${plainKernels.count}, ${setups[PROFILED === 0 ? 3 : PROFILED].label} ${profiledKernels.count}`,
);
const ms = (k: Bucket) => breakdown[k] ?? 0;
/** The CNN's headline keys as they are; another model's prefixed with its name. */
const named = (h: Record<string, number>) =>
  MODEL === 'cnn'
    ? h
    : Object.fromEntries(
        Object.entries(h).map(([k, v]) => [`${MODEL}${k[0].toUpperCase()}${k.slice(1)}`, v]),
      );
// Another model's results go beside the CNN's, as profile-act-step-<model>.json.
const write = (bench: string, results: Parameters<typeof writeResults>[1]) =>
  writeResults(bench, results, {
    file: MODEL === 'cnn' ? 'profile-act-step' : `profile-act-step-${MODEL}`,
  });
const path = write('profile-act-step', {
  headline: named({
    // The default codec ('wasm', exact) is what `npm start` trains with.
    // Medians of the per-round paired overheads (wall clock; CPU time beside it).
    stepOverheadVsStock2bit: overWall[3].median,
    stepOverheadVsStock2bitQ1: overWall[3].q1,
    stepOverheadVsStock2bitQ3: overWall[3].q3,
    stepOverheadVsStock2bitCiLo: ciWall.lo,
    stepOverheadVsStock2bitCiHi: ciWall.hi,
    stepOverheadVsStock2bitCpu: overCpu[3].median,
    stepOverheadVsStock2bitCpuQ1: overCpu[3].q1,
    stepOverheadVsStock2bitCpuQ3: overCpu[3].q3,
    stepOverheadVsStock2bitCpuCiLo: ciCpu.lo,
    stepOverheadVsStock2bitCpuCiHi: ciCpu.hi,
    plainStepMs: stepMs[0],
    compressedStepMs: stepMs[3],
    plainStepCpuMs: cpuMs[0],
    compressedStepCpuMs: cpuMs[3],
    // The default step against itself with one chunk level (same rounds): the split's gain.
    twoLevelVsOneLevel: spreadOf(pairedOverheads(timed.wall[3], timed.wall[4])).median,
    twoLevelVsOneLevelCpu: spreadOf(pairedOverheads(timed.cpu[3], timed.cpu[4])).median,
    stepOverheadVsStock2bitOneLevel: overWall[4].median,
    stepOverheadVsStock2bitOneLevelCpu: overCpu[4].median,
    ...(setups.length > 5
      ? {
          stepOverheadVsStock2bitUnfusedBlocks: overWall[5].median,
          stepOverheadVsStock2bitUnfusedBlocksCpu: overCpu[5].median,
          unfusedBlocksStepMs: stepMs[5],
          unfusedBlocksStepCpuMs: cpuMs[5],
        }
      : {}),
    stepOverheadVsStock2bitJsCodec: overWall[1].median,
    compressedJsCodecStepMs: stepMs[1],
    stepOverheadVsStock2bitWasmCodec: overWall[2].median,
    stepOverheadVsStock2bitWasmCodecCpu: overCpu[2].median,
    compressedWasmCodecStepMs: stepMs[2],
    compressedForwardBackwardMs: passMs[3],
    plainForwardBackwardMs: passMs[0],
    compressedOptimizerMs: optMs[3],
    plainOptimizerMs: optMs[0],
    quantizeMs: ms('quantize'),
    restoreMs: ms('restore'),
    packMs: ms('pack/unpack'),
    codecOtherMs: ms('codec other (saved state, scratch)'),
    readSyncMs: ms('copies out of tfjs-wasm (readSync)'),
    compressedJsMs: ms('compressed layers + backward (JS)'),
    wasmKernelMs: ms('tfjs-wasm kernels'),
    fastKernelMs: ms('frugal fast kernels'),
    frugalWasmKernelMs: ms('frugal wasm kernels'),
    tfjsCoreMs: ms('tfjs core (tape, ops)'),
    gcMs: ms('gc'),
    plainKernelsPerStep: plainKernels.count,
    compressedKernelsPerStep: profiledKernels.count,
    oneLevelKernelsPerStep: oneLevelKernels.count,
    leakedTensorsPerStep: Math.max(...leaked),
  }),
  model: MODEL,
  backend: engine.backend,
  batch: BATCH,
  rounds: ROUNDS,
  block: BLOCK,
  loadAverage: os.loadavg(),
  chunkRows: act.chunkRows,
  steps: rows,
  kernelsPerStep: {
    plain: plainKernels,
    compressed: { variant: setups[PROFILED === 0 ? 3 : PROFILED].label, ...profiledKernels },
  },
  profile: {
    variant: setups[PROFILED].label,
    steps: PROFILE_STEPS,
    wallMsPerStep: profiledMs / PROFILE_STEPS,
    sampledMsPerStep: perStepMs(totalUs),
    selfMsPerStepByPart: breakdown,
    topFunctions,
  },
  note: 'Step times are medians over interleaved rounds (order rotated, one warm-up round); each visit runs a row `block` times and times the last; wall clock and process CPU time (user + system, all threads). Overheads are medians (with quartiles and range in steps) of the per-round paired ratios minus one; the headline CiLo/CiHi figures are a percentile bootstrap 95% interval of that median (2000 resamples of the rounds, seeded). The 2-bit rows share one model; each row sets its codec (setActivationCodec) before its step; the headline compressed step is the default codec (wasm, bit-identical to js). The profile is a V8 sampling CPU profile (200 us) of one 2-bit row alone (profile.variant); self time is bucketed by source file and function name (codec quantize/restore/pack, other compressed-activation JS, tfjs-wasm kernels, frugal fast kernels, tfjs core). Profiler overhead inflates the profiled step a little. kernelsPerStep: the engine kernels one step launches (tf.profile, nested ones counted), by name. The last row is the default step with one chunk level (every layer in chunks of chunkRows, no forwardSplit): twoLevelVsOneLevel is the paired change of the default step against it.',
});
console.log(`wrote ${path}`);
disposeBatch(b);
act.model.dispose();
stock.dispose();
