// The tables in README.md and docs/*.md that quote benchmark figures, generated from
// bench/results/*.json. Each lives between `<!-- table:NAME -->` and `<!-- /table -->`;
// `npm run docs:tables` rewrites them and test/docs/tables.test.ts checks they match the JSON.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../src/io/atomic-write.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = join(ROOT, 'bench', 'results');

type Json = Record<string, unknown>;

/** bench/results/<name>.json, or undefined when that benchmark has not been run and committed. */
function results(name: string): Json | undefined {
  try {
    return JSON.parse(readFileSync(join(RESULTS, `${name}.json`), 'utf8')) as Json;
  } catch {
    return undefined;
  }
}

/** A headline figure; throws when the file exists but the figure does not (a renamed figure). */
function fig(file: Json, key: string): number | null {
  const h = file.headline as Json | undefined;
  if (!h || !(key in h)) throw new Error(`${String(file.bench)}: no headline figure '${key}'`);
  const v = h[key];
  if (v === null) return null;
  if (typeof v !== 'number') throw new Error(`${String(file.bench)}.${key} is not a number`);
  return v;
}

const na = 'n/a';
/** 1.77 -> "1.77x". */
export const ratio = (v: number | null, digits = 2): string =>
  v === null ? na : `${v.toFixed(digits)}x`;
/** 0.13 -> "+13%". */
export const gain = (v: number | null, digits = 0): string =>
  v === null ? na : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(digits)}%`;
/** 0.9435 -> "94.35%". */
export const percent = (v: number | null, digits = 2): string =>
  v === null ? na : `${(v * 100).toFixed(digits)}%`;
/** An accuracy drop in points: 0.1 -> "0.10 pt" (negative: the method is more accurate). */
export const points = (v: number | null, digits = 2): string =>
  v === null ? na : `${v.toFixed(digits)} pt`;

interface FeatureRow {
  capability: string;
  docs: string;
  bench: string;
  figure: (j: Json) => string;
}

const FEATURES: FeatureRow[] = [
  {
    capability: 'Compressed activations (ActNN/GACT, few-bit, RMM)',
    docs: 'docs/compressed-activations.md',
    bench: 'act-memory',
    figure: (j) =>
      `CNN: saved activations ${ratio(fig(j, 'cnnSavedReduction2bit'), 1)} smaller, ` +
      `largest batch ${ratio(fig(j, 'cnnBatchGain2bit'), 1)} (ResNet ${ratio(fig(j, 'resnetBatchGain'), 1)}), accuracy ` +
      `${points(-(fig(j, 'cnnAccuracyDeltaPoints2bit') ?? Number.NaN))} drop at 2 bits (3 seeds)`,
  },
  {
    capability: 'Speed of compressed training (wasm codec)',
    docs: 'docs/compressed-speed.md',
    bench: 'profile-act-step',
    figure: (j) => `2-bit CNN step ${gain(fig(j, 'stepOverheadVsStock2bit'))} vs the plain step`,
  },
  {
    capability: 'Speed of compressed training, ResNet (batch norm: whole-batch forward)',
    docs: 'docs/compressed-speed.md',
    bench: 'profile-act-step-resnet',
    figure: (j) =>
      `2-bit ResNet step ${gain(fig(j, 'resnetStepOverheadVsStock2bit'))} wall, ` +
      `${gain(fig(j, 'resnetStepOverheadVsStock2bitCpu'))} CPU time vs the plain step (batch 32)`,
  },
  {
    capability: 'Rematerialization under a budget (Rotor, joint with compression)',
    docs: 'docs/remat.md',
    bench: 'remat',
    figure: (j) =>
      `least activation budget ${ratio(fig(j, 'resnetLeastBudgetReductionExact'), 1)} (ResNet) / ` +
      `${ratio(fig(j, 'transformerLeastBudgetReductionExact'), 1)} (Transformer) below the plain step's activations, ` +
      `${ratio(fig(j, 'resnetLeastBudgetReductionJoint'), 1)} / ${ratio(fig(j, 'transformerLeastBudgetReductionJoint'), 1)} ` +
      `joint with compression; ${gain(fig(j, 'jointOverheadAtSixthWorst'))} step time at a sixth (worst model)`,
  },
  {
    capability: 'Fast CPU/wasm training kernels',
    docs: 'docs/kernels.md',
    bench: 'train-step',
    figure: (j) => {
      const threads = (j.headline as Json).pytorchBestThreads;
      return (
        `CNN trains on wasm (stock cannot): ${fig(j, 'cnnFastWasmMsPerStep')?.toFixed(0) ?? na} ms/step, ` +
        `${ratio(fig(j, 'cnnFastWasmOverPytorchBest'))} PyTorch's throughput (${String(threads)} ${threads === 1 ? 'thread' : 'threads'}, same rounds); ` +
        `Transformer ${ratio(fig(j, 'transformerFastWasmOverStockWasm'), 1)} stock wasm`
      );
    },
  },
  {
    capability: 'Parallel training: threaded wasm in Node, data-parallel workers',
    docs: 'docs/parallel.md',
    bench: 'parallel-step',
    figure: (j) =>
      `CNN step: 2 XNNPACK threads ${ratio(fig(j, 'threadedSpeedup'))} over 1 thread; best frugal ` +
      `(${String((j.headline as Json).cnnVsTorchBestFrugal)}) ${ratio(fig(j, 'cnnVsTorch'))} PyTorch (2 threads), ` +
      `${ratio(fig(j, 'cnnVsTorchMin'))}-${ratio(fig(j, 'cnnVsTorchMax'))} over the rounds; ` +
      `2 workers ${ratio(fig(j, 'speedupAllRounds'))} (load average ${(fig(j, 'loadAverageMin') ?? Number.NaN).toFixed(0)}-${(fig(j, 'loadAverageMax') ?? Number.NaN).toFixed(0)})`,
  },
  {
    capability: 'Pipeline parallelism (PipeDream-2BW / Flush schedules, planner, simulator)',
    docs: 'docs/pipeline.md',
    bench: 'pipeline',
    figure: (j) =>
      `Transformer, 2 workers: 2BW ${ratio(fig(j, 'pipe2bwVsDataParallel'))} data parallel, ` +
      `${ratio(fig(j, 'pipe2bwVsSingle'))} one thread; simulator within ` +
      `${(fig(j, 'simulatorErrorPct') ?? Number.NaN).toFixed(1)}% of the measured 2BW throughput (loaded machine)`,
  },
  {
    capability: 'Post-training compression (quantization, N:M, low-rank)',
    docs: 'docs/compression.md',
    bench: 'compress',
    figure: (j) =>
      `CNN file at ${percent(fig(j, 'targetSizeRatio'), 1)} of fp32 (${String((j.headline as Json).targetVariant)}), ` +
      `${points(100 * (fig(j, 'targetAccuracyDropVsControl') ?? Number.NaN))} vs its fp32 control`,
  },
  {
    capability: 'Integer inference kernels (wasm SIMD)',
    docs: 'docs/integer-inference.md',
    bench: 'inference',
    figure: (j) =>
      `int8 dense ${ratio(fig(j, 'int8SpeedupDense'))}, int4 ${ratio(fig(j, 'int4SpeedupDense'))}, ` +
      `CNN batch 1 ${ratio(fig(j, 'int8SpeedupCnn'))}; weights ${percent(fig(j, 'int8WeightMemoryRatio'), 1)} of fp32`,
  },
  {
    capability: 'Low-rank and tensor decompositions (SVD, Tucker-2, CP, ADMM-CP, TTM)',
    docs: 'docs/decomposition.md',
    bench: 'lowrank',
    figure: (j) =>
      `wasm inference at half the parameters: CNN dense1 ${ratio(fig(j, 'cnnDense1SvdSpeedup'))} (SVD), ` +
      `conv2 ${ratio(fig(j, 'cnnConv2Tucker2Speedup'))} (Tucker-2), whole CNN ${ratio(fig(j, 'cnnTucker2SvdSpeedup'))} ` +
      `at ${points(fig(j, 'cnnTucker2SvdAccuracyDropPts'), 1)} after 40 fine-tune steps`,
  },
  {
    capability: 'Low-rank training, distillation, PLRD, Conv3D on 4D tensors',
    docs: 'docs/lowrank-training.md',
    bench: 'lowrank-training',
    figure: (j) =>
      `training throughput ${gain(fig(j, 'trainThroughputGain'))} at ${points(fig(j, 'trainDropPts'), 1)}; ` +
      `inference ${ratio(fig(j, 'inferenceSpeedup'))}; FS-Merge ${percent(fig(j, 'fsMergeAcc'), 1)} over two ` +
      `tasks vs weight averaging ${percent(fig(j, 'averageAcc'), 1)}, distillation ${percent(fig(j, 'kdMergeAcc'), 1)}`,
  },
  {
    capability: 'Low-precision training (QAT, Range BN)',
    docs: 'docs/low-precision.md',
    bench: 'low-precision',
    figure: (j) =>
      `QAT int4 ${points(fig(j, 'qatInt4DropPts'))}, int2 ${points(fig(j, 'qatInt2DropPts'))} drop ` +
      `(PTQ int2 + AdaQuant: ${points(fig(j, 'ptqInt2AdaquantDropPts'))}); 8-bit training ` +
      `${points(fig(j, 'int8TrainDropPts'))}, Range BN ${points(fig(j, 'rangeBnDropPts'))}, ` +
      `12-bit accumulators ${points(fig(j, 'acc12DropPts'))} (short schedules, narrow models)`,
  },
  {
    capability: 'Sparse backward passes (MVUE N:M gradients)',
    docs: 'docs/sparse-backward.md',
    bench: 'sparse-grad',
    figure: (j) =>
      `CNN, 3 seeds: MVUE 1:2 ${points(fig(j, 'mvue12DropPts'))}, 2:4 ${points(fig(j, 'mvue24DropPts'))} drop vs magnitude 2:4 ` +
      `${points(fig(j, 'magnitude24DropPts'))}; ${fig(j, 'stochPruneSeeds')} seeds paired: stochastic pruning p=0.9 ${points(fig(j, 'stochPruneDropPts'))} ` +
      `(SE ${points(fig(j, 'stochPruneDropSe'))}) at ${percent(fig(j, 'stochPruneZeroFraction'), 0)} zeros, ` +
      `transposable 2:4 weights (SR-STE, gradual) ${points(fig(j, 'transposable24DropPts'))} (SE ${points(fig(j, 'transposable24DropSe'))}), ` +
      `fixed from init ${points(fig(j, 'transposable24FixedDropPts'))}; at ${fig(j, 'stochPruneLongSteps')} steps: stochastic ` +
      `${points(fig(j, 'stochPruneLongDropPts'))}, transposable ${points(fig(j, 'transposable24LongDropPts'))} (pre-registered seeds 20-29: ${points(fig(j, 'transposable24ConfirmDropPts'))}); ` +
      `ResNet, converged (${fig(j, 'resnetConvergedSteps')} steps, LR decay), ${fig(j, 'resnetConvergedMvue12Seeds')} seeds: MVUE 1:2 ${points(fig(j, 'resnetConvergedMvue12DropPts'))} ` +
      `[${points(fig(j, 'resnetConvergedMvue12DropCi95Lo'))}, ${points(fig(j, 'resnetConvergedMvue12DropCi95Hi'))}]` +
      ` (${fig(j, 'resnetConvergedMvue24Seeds')} seeds: 2:4 ${points(fig(j, 'resnetConvergedMvue24DropPts'))}, magnitude 2:4 ${points(fig(j, 'resnetConvergedMagnitude24DropPts'))}); ` +
      `ResNet, 3 seeds, ${fig(j, 'resnetSteps')} steps: MVUE 1:2 ${points(fig(j, 'resnetMvue12DropPts'))}, 2:4 ${points(fig(j, 'resnetMvue24DropPts'))}, magnitude 2:4 ${points(fig(j, 'resnetMagnitude24DropPts'))} ` +
      `(${fig(j, 'resnetLongSteps')} steps: ${points(fig(j, 'resnetLongMvue12DropPts'))}, ${points(fig(j, 'resnetLongMvue24DropPts'))}, ${points(fig(j, 'resnetLongMagnitude24DropPts'))}); ` +
      `2:4 product ${ratio(fig(j, 'sparseKernelSpeedupVsStockCpu'))} stock cpu matMul, ` +
      `${ratio(fig(j, 'sparseKernelSpeedup'))} frugal's cpu GEMM`,
  },
  {
    capability: 'Training recipes: COT, OPT (plus SAM, label smoothing, GC, whitening, CELU)',
    docs: 'docs/recipes.md',
    bench: 'recipes-objectives',
    figure: (j) =>
      `MLP, 3 epochs: COT ${points(fig(j, 'cotDeltaPts'), 1)}, stochastic OPT ${points(fig(j, 'optDeltaPts'), 1)} ` +
      `vs plain (neither helps at this schedule)`,
  },
  {
    capability: 'Training recipes: SwiftLearn, HAET, batch augmentation, mixed size',
    docs: 'docs/recipes.md',
    bench: 'recipes',
    figure: (j) => {
      const ci = (k: string) =>
        `[${points(fig(j, `${k}Ci95LoPts`), 1)}, ${points(fig(j, `${k}Ci95HiPts`), 1)}]`;
      const speed = (k: string, seeds: string) =>
        fig(j, k) === null
          ? `null (${fig(j, `${k}Hits`)} of ${fig(j, seeds)} seeds reached the target${fig(j, `${k}OfHits`) === null ? '' : `, at ${ratio(fig(j, `${k}OfHits`))}`})`
          : ratio(fig(j, k));
      return (
        `HAET ${points(fig(j, 'haetGainPts'), 1)} ${ci('haetGain')} vs plain at ${fig(j, 'haetHeadlineBudgetSeconds')} s each ` +
        `(${fig(j, 'haetSeeds')} seeds, target +1 pt ${(fig(j, 'haetGainPts') ?? Number.NEGATIVE_INFINITY) >= 1 ? 'met' : 'missed'}; ` +
        `plain took ${(fig(j, 'plainStepsAt60s') ?? Number.NaN).toFixed(0)} steps, ${(fig(j, 'plainEpochsAt60s') ?? Number.NaN).toFixed(2)} epochs), ` +
        `${points(fig(j, 'haetGainAt60sCpuPts'), 1)} ${ci('haetGainAt60sCpu')} at 60 CPU s each (${fig(j, 'haetSeedsAt60sCpu')} seeds; process CPU time, less moved by other jobs than wall time), ` +
        `${points(fig(j, 'haetGainAt150sPts'), 1)} ${ci('haetGainAt150s')} at 150 s (${fig(j, 'haetSeedsAt150s')} seeds); ` +
        `SwiftLearn keep 0.3 speedup ${speed('swiftlearnSpeedup', 'swiftlearnSeeds')}, ` +
        `drop at equal epochs ${points(fig(j, 'swiftlearnDropPts'), 1)} ${ci('swiftlearnDrop')} (targets 2x, 0.5 pt); ` +
        `mixed size ${speed('mixsizeSpeedup', 'mixsizeSeeds')}; ` +
        `batch augmentation steps ratio ${speed('batchAugStepsRatio', 'batchAugSeeds')}, ` +
        `${points(fig(j, 'batchAugDeltaAtPlainStepsPts'), 1)} ${ci('batchAugDeltaAtPlainSteps')} at plain's steps`
      );
    },
  },
  {
    capability: 'In the browser: esbuild bundle, example page, headless Chromium tests',
    docs: 'docs/browser.md',
    bench: 'browser',
    figure: (j) =>
      `wasm CNN step ${(fig(j, 'wasmStepMsPlain') ?? Number.NaN).toFixed(0)} ms plain / ` +
      `${(fig(j, 'wasmStepMs2bit') ?? Number.NaN).toFixed(0)} ms 2-bit; forward+backward peak ratio ` +
      `${ratio(fig(j, 'wasmPeakRatio'))} (target 2, ` +
      `${(fig(j, 'wasmPeakRatio') ?? 0) >= 2 ? 'met' : 'missed'}), whole step with Adam ` +
      `${ratio(fig(j, 'wasmStepPeakRatio'))}; frugal adds ${(fig(j, 'bundleKb') ?? Number.NaN).toFixed(0)} KB to the bundle`,
  },
  {
    capability: 'Neural ODEs (adjoint, IRDM, robustness)',
    docs: 'docs/ode.md',
    bench: 'ode',
    figure: (j) =>
      `adjoint memory ${ratio(fig(j, 'adjointMemoryRatio'), 1)} lower; IRDM gradients ` +
      `${ratio(fig(j, 'irdmSpeedup'))} faster; odenet ${percent(fig(j, 'odenetAccuracy'))} on MNIST`,
  },
  {
    capability: 'Efficient Transformers and a small LM (ViT, GQKVA, SkipViT, TTM GPT)',
    docs: 'docs/transformers.md',
    bench: 'transformers',
    figure: (j) =>
      `TTM GPT at ${percent(fig(j, 'ttmParamsRatio'), 1)} of the parameters, perplexity ` +
      `${ratio(fig(j, 'ttmPplRatio'), 3)}; SkipViT ${gain(fig(j, 'skipvitThroughputGain'))} throughput at ` +
      `${points(fig(j, 'skipvitDropPts'))} accuracy drop`,
  },
];

/** The README's feature table: every capability with a committed benchmark, figures from its JSON. */
function featureTable(): string {
  const out = ['| capability | headline figure (bench/results) | docs |', '|---|---|---|'];
  for (const row of FEATURES) {
    const j = results(row.bench);
    const figure = j ? `${row.figure(j)} (\`${row.bench}.json\`)` : 'no benchmark run yet';
    out.push(`| ${row.capability} | ${figure} | [${row.docs.slice(5)}](${row.docs}) |`);
  }
  return out.join('\n');
}

/** docs/kernels.md: step time of every zoo model on stock and fast kernels. */
function trainStepTable(): string {
  const j = results('train-step');
  if (!j) return 'bench/results/train-step.json is not committed.';
  const rows = j.rows as Json[];
  const cell = (model: string, backend: string, kernels: string) => {
    const r = rows.find((x) => x.model === model && x.backend === backend && x.kernels === kernels);
    if (!r) return '-';
    if (r.msPerStep === null) return `fails: ${String(r.note).replace(/^fails: /, '')}`;
    const ms = r.msPerStep as number;
    const text = ms >= 10000 ? `${(ms / 1000).toFixed(0)} s` : `${ms.toFixed(ms < 100 ? 1 : 0)} ms`;
    return String(r.note).startsWith('estimate') ? `~${text} (extrapolated)` : text;
  };
  const ms = (m: string, b: string, k: string) =>
    rows.find((x) => x.model === m && x.backend === b && x.kernels === k)?.msPerStep as
      | number
      | null;
  const out = [
    '| model | stock cpu | stock wasm | fast cpu | fast wasm | fast wasm vs stock wasm |',
    '|---|---|---|---|---|---|',
  ];
  for (const model of [...new Set(rows.map((r) => r.model as string))]) {
    const stockWasm = ms(model, 'wasm', 'stock');
    const fastWasm = ms(model, 'wasm', 'fast');
    const vs = stockWasm && fastWasm ? ratio(stockWasm / fastWasm, 1) : 'stock cannot train it';
    out.push(
      `| ${model} | ${cell(model, 'cpu', 'stock')} | ${cell(model, 'wasm', 'stock')} | ` +
        `${cell(model, 'cpu', 'fast')} | ${cell(model, 'wasm', 'fast')} | ${vs} |`,
    );
  }
  const cnn = rows.find((x) => x.model === 'cnn' && x.backend === 'wasm' && x.kernels === 'fast');
  // PyTorch's rows, where torch was importable (a string says why it was not).
  const torch = ((j.pytorchCnn as (Json | string)[] | undefined) ?? []).filter(
    (t): t is Json => typeof t !== 'string',
  );
  const load = j.loadAverage as Json;
  out.push('');
  out.push(
    `Batch ${String(j.batch)}, ${String(j.optimizer)}, ${String(j.cores)} cores, ` +
      `${j.rounds ? `median of ${String(j.rounds)} interleaved rounds, ` : ''}load average ` +
      `${String(load.start)} at the start and ${String(load.end)} at the end (${String(j.date).slice(0, 10)}).`,
  );
  if (cnn) {
    const peak = j.wasmMatmulPeakGflops as number;
    const g = cnn.gflopPerSecond as number;
    const torchText = torch
      .map(
        (t) =>
          `${(t.msPerStep as number).toFixed(0)} ms/step with ${String(t.threads)} ${t.threads === 1 ? 'thread' : 'threads'} ` +
          `(frugal fast wasm: ${ratio((t.msPerStep as number) / (cnn.msPerStep as number))} its throughput)`,
      )
      .join(', ');
    out.push(
      `The fast-wasm CNN step runs its multiply-adds at ${g.toFixed(1)} GFLOP/s, ` +
        `${percent(g / peak, 0)} of the wasm matmul peak measured in the same run ` +
        `(${peak.toFixed(1)} GFLOP/s).` +
        (torchText
          ? ` The zoo CNN in PyTorch (Debian \`python3-torch\`, same run): ${torchText}.`
          : ''),
    );
  }
  return out.join('\n');
}

/** docs/pipeline.md: 2BW against data parallelism and one thread, and the simulator's predictions. */
function pipelineTable(): string {
  const j = results('pipeline');
  if (!j) return 'bench/results/pipeline.json is not committed.';
  const ms = j.medianMsPerBatch as Record<string, number>;
  const batch = j.batch as number;
  const h = j.headline as Json;
  const row = (name: string, v: number) =>
    `| ${name} | ${v.toFixed(0)} | ${((batch * 1000) / v).toFixed(0)} | ${ratio(ms.single / v)} | ${ratio(ms.dataParallel / v)} |`;
  const out = [
    '| variant | ms/batch | samples/s | x one thread | x data parallel |',
    '|---|---|---|---|---|',
    row('one thread (trainStep, whole batch)', ms.single),
    row(`${String(j.workers)} data-parallel workers`, ms.dataParallel),
    row(
      `2BW, ${String(j.stages)} stage workers, ${String(j.microbatches)} microbatches`,
      ms.pipe2bw,
    ),
    row('2BW stages in one thread (the profile)', ms.profile),
    row(
      'simulated 2BW: profile op times x core-probe scale',
      j.medianPredictedMsPerBatch as number,
    ),
    row(
      'simulated 2BW: profile op times, a free core per stage',
      j.medianPredictedDedicatedCoresMsPerBatch as number,
    ),
    row(
      "simulated 2BW: the stage workers' own op times",
      j.medianPredictedFromWorkerCostsMsPerBatch as number,
    ),
  ];
  const pct = (k: string) => `${(fig(j, k) ?? Number.NaN).toFixed(1)}%`;
  const costs = (k: string) => j[k] as { fwdMs: number; bwdMs: number; updateMs: number }[];
  const f = (c: { fwdMs: number; bwdMs: number; updateMs: number }) =>
    `${c.fwdMs.toFixed(1)} / ${c.bwdMs.toFixed(1)} / ${c.updateMs.toFixed(1)}`;
  out.push('');
  out.push(
    '| stage | layers | profile ms: fwd / bwd (per microbatch) / update | stage workers ms |',
  );
  out.push('|---|---|---|---|');
  (j.stageLayers as string[]).forEach((layers, i) => {
    out.push(
      `| ${i} | ${layers} | ${f(costs('medianProfileCosts')[i])} | ${f(costs('medianWorkerCosts')[i])} |`,
    );
  });
  out.push('');
  out.push(
    `Simulator error (median over rounds of |predicted - measured| / measured): ${pct('simulatorErrorPct')} ` +
      `from the profile with the core probes' scale (median ${(h.computeScale as number).toFixed(2)}; ` +
      `${pct('simulatorErrorPctOfMedians')} comparing the medians), ` +
      `${pct('simulatorErrorPctDedicatedCores')} assuming a free core per stage, ` +
      `${pct('simulatorErrorPctWorkerCosts')} from the workers' own op times. ` +
      `Batch ${batch}, ${String(j.roundsCount)} rounds of ${String(j.batchesPerRound)} batches, ` +
      `${String(j.cores)} cores, load average ${(h.loadAverageMin as number).toFixed(2)}-` +
      `${(h.loadAverageMax as number).toFixed(2)} (${String(j.date).slice(0, 10)}).`,
  );
  return out.join('\n');
}

/** docs/pipeline.md: the simulator's predicted scaling of 2BW and data parallelism over machines. */
function pipelineScalingTable(): string {
  const j = results('pipeline');
  if (!j) return 'bench/results/pipeline.json is not committed.';
  const sc = j.scaling as Json | undefined;
  if (!sc) return 'bench/results/pipeline.json has no scaling section (an older run).';
  const rows = sc.rows as Json[];
  const links = [...new Set(rows.map((r) => r.link as string))];
  const workers = [...new Set(rows.map((r) => r.workers as number))];
  const cell = (d: number, link: string) => {
    const r = rows.find((x) => x.workers === d && x.link === link) as Json;
    const p = r.pipe2bwSamplesPerSec as number;
    const q = r.dataParallelSamplesPerSec as number;
    return `${p.toFixed(0)} / ${q.toFixed(0)} (${ratio(p / q)})`;
  };
  const out = [
    `| machines | ${links.join(' | ')} |`,
    `|---|${links.map(() => '---').join('|')}|`,
    ...workers.map((d) => `| ${d} | ${links.map((l) => cell(d, l)).join(' | ')} |`),
  ];
  out.push('');
  out.push(
    `Samples/s, 2BW / data parallel (2BW over data parallel), one worker per machine: the zoo Transformer with ` +
      `${String(sc.blocks)} blocks, batch ${String((sc.microbatches as number) * (sc.microbatchRows as number))} ` +
      `(${String(sc.microbatches)} microbatches of ${String(sc.microbatchRows)} rows), ${String(sc.batchesSimulated)} batches. ` +
      `Costs measured in the run of ${String(j.date).slice(0, 10)} on the loaded 2-core machine (one thread).`,
  );
  return out.join('\n');
}

/** docs/remat.md: the plain, keep-all and planned rows at budgets of 1/3 and below. */
function rematTable(): string {
  const j = results('remat');
  if (!j) return 'bench/results/remat.json is not committed.';
  const rows = j.rows as Json[];
  const mb = (b: unknown) => ((b as number) / 1e6).toFixed(2);
  const signed = (x: unknown) =>
    typeof x === 'number' ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%` : '';
  const out = [
    '| model | planner | chain | budget MB (of plain act) | measured act MB | within | vs plain | vs plain (CPU time) | vs keep-all (measured / predicted) | joint / exact time | joint / exact CPU time |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const fraction = r.budgetFraction as number | null;
    if (fraction !== null && fraction > 1 / 3 + 1e-6) continue;
    const keepAll = rows.find((k) => k.model === r.model && k.planner === 'keep-all');
    const overhead = r.overhead as number | undefined;
    const keepAllOverhead = keepAll?.overhead as number | undefined;
    const vsKeepAll =
      overhead === undefined || keepAllOverhead === undefined
        ? undefined
        : (1 + overhead) / (1 + keepAllOverhead) - 1;
    const planner = String(r.planner);
    const chain =
      (r.chain as string | undefined) ?? (planner.startsWith('keep-all') ? 'blocks' : '');
    const budget =
      fraction === null ? '-' : `${mb(r.budgetBytes)} (${(100 * fraction).toFixed(0)}%)`;
    const measured = r.feasible
      ? mb(r.measuredActivationBytes)
      : `infeasible (least ${mb(r.minimumBytes)})`;
    const within = r.withinBudget === undefined ? '' : r.withinBudget ? 'yes' : 'NO';
    const vsKeep =
      planner === 'plain' || !r.feasible
        ? ''
        : `${signed(vsKeepAll)} / ${signed(r.predictedOverhead)}`;
    const vsExact = (key: 'measuredVsExact' | 'measuredVsExactCpu') =>
      r.sameAsExact
        ? `${(r[key] as number | undefined)?.toFixed(2) ?? '1.00'} (same plan)`
        : typeof r[key] === 'number'
          ? r[key].toFixed(2)
          : '';
    out.push(
      `| ${String(r.model)} | ${planner} | ${chain} | ${budget} | ${measured} | ${within} | ${signed(overhead)} | ${signed(r.overheadCpu)} | ${vsKeep} | ${vsExact('measuredVsExact')} | ${vsExact('measuredVsExactCpu')} |`,
    );
  }
  out.push('');
  out.push('| model | chain | least budget, exact | least budget, joint | set by (exact) |');
  out.push('|---|---|---|---|---|');
  for (const l of j.leastBudgets as Json[]) {
    const plain = l.plainActivationBytes as number;
    const least = (b: unknown) => `${mb(b)} MB (${((100 * (b as number)) / plain).toFixed(0)}%)`;
    out.push(
      `| ${String(l.model)} | ${String(l.split)} (${String(l.stages)} stages) | ${least(l.exactBytes)} | ${least(l.jointBytes)} | ${String(l.exactLimit)} |`,
    );
  }
  out.push('');
  out.push(`\`${String(j.command)}\`, ${String(j.date).slice(0, 10)}, ${String(j.seconds)} s.`);
  return out.join('\n');
}

/** docs/compression.md: every compress variant's file size and accuracy. */
function compressTable(): string {
  const j = results('compress');
  if (!j) return 'bench/results/compress.json is not committed.';
  const base = j.baseline as Json;
  const control = j.control as Json;
  const baseBytes = base.fileBytes as number;
  const baseAcc = base.accuracy as number;
  const line = (name: string, bytes: number, acc: number) =>
    `| ${name} | ${(bytes / 1024).toFixed(1)} | ${percent(bytes / baseBytes, 1)} | ` +
    `${percent(acc)} | ${((baseAcc - acc) * 100).toFixed(2)} |`;
  const out = [
    '| variant | file KiB | size vs fp32 | test acc | drop (pt) |',
    '|---|---|---|---|---|',
  ];
  out.push(line('fp32 (baseline)', baseBytes, baseAcc));
  out.push(line(`control: ${String(control.what)}`, baseBytes, control.accuracy as number));
  for (const r of j.rows as Json[])
    out.push(line(String(r.variant), r.fileBytes as number, r.accuracy as number));
  return out.join('\n');
}

/** docs/low-precision.md: QAT/PTQ, 8-bit training and accumulator rows of low-precision.json. */
function lowPrecisionTable(): string {
  const j = results('low-precision');
  if (!j) return 'bench/results/low-precision.json is not committed.';
  const out = ['| section | variant | test acc | drop (pt) |', '|---|---|---|---|'];
  const q = j.qat as Json | undefined;
  const qRows = (q?.rows as Json[] | undefined)?.filter((r) => r.seed !== undefined);
  if (q && qRows) {
    const seeds = (q.seeds as number[]).length;
    const variants = [...new Set(qRows.map((r) => String(r.variant)))];
    for (const v of variants) {
      const rs = qRows.filter((r) => r.variant === v);
      const mean = (k: string) => rs.reduce((a, r) => a + (r[k] as number), 0) / rs.length;
      const drops = rs.map((r) => (r.dropPts as number).toFixed(2)).join(' / ');
      out.push(
        `| zoo CNN, QAT/PTQ (mean of ${seeds} seeds) | ${v} | ${percent(mean('accuracy'))} | ${v === 'fp32 control' ? '' : `${mean('dropPts').toFixed(2)} (per seed ${drops})`} |`,
      );
    }
  } else {
    const control = fig(j, 'controlAccuracy') as number;
    out.push(`| zoo CNN, weights | fp32 control | ${percent(control)} | |`);
    for (const r of j.rows as Json[])
      if (!String(r.variant).startsWith('fp32'))
        out.push(
          `| zoo CNN, weights | ${String(r.variant)} | ${percent(r.accuracy as number)} | ${((control - (r.accuracy as number)) * 100).toFixed(2)} |`,
        );
  }
  const t = j.int8Training as Json | undefined;
  if (t) {
    const rows = t.rows as Json[];
    const seeds = (t.seeds as number[]).length;
    for (const model of ['cnn', 'resnet'])
      for (const variant of ['fp32', 'fp32 range-bn', 'int8 range-bn']) {
        const rs = rows.filter((r) => r.model === model && r.variant === variant);
        if (rs.length === 0) continue;
        const ref = rows.filter((r) => r.model === model && r.variant === 'fp32');
        const mean = (xs: Json[]) => xs.reduce((a, r) => a + (r.accuracy as number), 0) / xs.length;
        const drop = variant === 'fp32' ? '' : ((mean(ref) - mean(rs)) * 100).toFixed(2);
        out.push(
          `| ${model}, training (mean of ${seeds} seeds) | ${variant} | ${percent(mean(rs))} | ${drop} |`,
        );
      }
  }
  const a = j.accumulators as Json | undefined;
  if (a) {
    const c = a.control as number;
    const c0 = (a.controlNoFinetune as number | undefined) ?? c;
    if (a.controlNoFinetune !== undefined)
      out.push(`| MLP, accumulators | fp32 (no fine-tuning) | ${percent(c0)} | |`);
    out.push(
      `| MLP, accumulators | fp32 control + ${String(a.finetuneSteps)} fine-tune steps | ${percent(c)} | |`,
    );
    for (const r of a.rows as Json[]) {
      const f = r.format as Json;
      const o = r.outer as Json | null | undefined;
      const chunked = r.chunk
        ? `, chunks of ${String(r.chunk)}, chunk sums in ${o ? `M${String(o.mantissa)}E${String(o.exponent)}` : 'the same format'}`
        : '';
      out.push(
        `| MLP, accumulators | ${String(r.bits)}-bit (M${String(f.mantissa)}E${String(f.exponent)})${chunked}${r.finetuned ? ` + ${String(a.finetuneSteps)} fine-tune steps` : ''} | ${percent(r.accuracy as number)} | ${(((r.finetuned ? c : c0) - (r.accuracy as number)) * 100).toFixed(2)} |`,
      );
    }
  }
  return out.join('\n');
}

export const TABLES: Record<string, () => string> = {
  'low-precision': lowPrecisionTable,
  features: featureTable,
  'train-step': trainStepTable,
  remat: rematTable,
  compress: compressTable,
  pipeline: pipelineTable,
  'pipeline-scaling': pipelineScalingTable,
};

/** README.md and docs/*.md, relative to the repository root. */
export function docFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs.sort()];
}

const BLOCK = /<!-- table:([\w-]+) -->\n[\s\S]*?<!-- \/table -->/g;

/** `text` with every table block regenerated; `seen` collects the names found. */
export function regenerate(text: string, seen: Set<string> = new Set()): string {
  return text.replace(BLOCK, (_m, name: string) => {
    const make = TABLES[name];
    if (!make)
      throw new Error(`unknown table '${name}' (known: ${Object.keys(TABLES).join(', ')})`);
    seen.add(name);
    return `<!-- table:${name} -->\n${make()}\n<!-- /table -->`;
  });
}

export function readDoc(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const seen = new Set<string>();
  for (const file of docFiles()) {
    const before = readDoc(file);
    const after = regenerate(before, seen);
    if (after !== before) {
      writeFileAtomic(join(ROOT, file), after);
      console.log(`updated ${file}`);
    }
  }
  const missing = Object.keys(TABLES).filter((t) => !seen.has(t));
  if (missing.length > 0) console.warn(`tables not placed in any doc: ${missing.join(', ')}`);
}
