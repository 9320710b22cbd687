import type * as tf from '@tensorflow/tfjs';
import {
  type IntegerPlan,
  integerPlan,
  integerPlanGap,
} from '../../compress/packed/integer-plan.js';
import { PackedLayerBase } from '../../compress/packed/packed-layer-base.js';
import { loadMnist } from '../../data/mnist.js';
import { initEngine } from '../../engine/backend.js';
import { makeRng, normal } from '../../engine/random.js';
import { runScenario, type ScenarioResult, scenarioSettings } from '../../inference/loadgen.js';
import {
  type AccuracyResult,
  accuracyRun,
  modelSut,
  type SamplePool,
} from '../../inference/sut.js';
import { writeJsonAtomic } from '../../io/atomic-write.js';
import { loadModel } from '../../io/model-files.js';
import { fixed } from '../../report/format.js';
import { renderTable } from '../table.js';

export interface ScenarioCommandOptions {
  scenario: string;
  backend: string;
  mode?: string;
  minQueries?: number;
  /** Seconds. */
  minDuration?: number;
  targetQps?: number;
  latencyBound?: number;
  samplesPerQuery?: number;
  batch?: number;
  seed?: number;
  out?: string;
}

/** Per layer: on the integer kernels, or on the float path and why. */
export interface KernelUse {
  layer: string;
  kernel: string;
}

/** Which layers run on integer kernels now (the rest are named with their reason). */
export function integerKernelUse(model: tf.LayersModel): KernelUse[] {
  const out: KernelUse[] = [];
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (layer instanceof PackedLayerBase) {
      const gap = layer.integerGap();
      const bits = layer.codec.bits <= 4 ? 'int4' : 'int8';
      out.push({ layer: layer.name, kernel: gap ? `decoded float (${gap})` : `${bits} wasm SIMD` });
    } else if (cls === 'Dense' || cls === 'Conv2D' || cls === 'DepthwiseConv2D') {
      out.push({ layer: layer.name, kernel: 'float (not packed: no integer kernel)' });
    }
  }
  return out;
}

/** Samples the model can take: MNIST test digits when its input is 28x28(x1) or 784, else synthetic. */
export function samplePool(model: tf.LayersModel, count: number, seed: number): SamplePool {
  const shape = (model.inputs[0].shape.slice(1) as (number | null)[]).map((d) => {
    if (d == null)
      throw new Error(`the model input has an unknown dimension: [${model.inputs[0].shape}]`);
    return d;
  });
  const key = shape.join('x');
  if (['28x28x1', '28x28', '784'].includes(key)) {
    return mnistPool(shape, count, seed);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  const rng = makeRng(seed);
  return {
    x: Float32Array.from({ length: count * size }, () => normal(rng)),
    y: null,
    count,
    sampleShape: shape,
    source: 'synthetic normal inputs',
  };
}

function mnistPool(shape: number[], count: number, seed: number): SamplePool {
  const data = loadMnist({ trainCount: 1, testCount: count, seed });
  return { x: data.test.x, y: data.test.y, count, sampleShape: shape, source: 'MNIST test digits' };
}

export interface ScenarioReport {
  tool: 'frugal bench --scenario';
  model: string;
  backend: string;
  samples: string;
  kernels: KernelUse[];
  /** The whole-model integer plan performance runs use, or why the model runs layer by layer. */
  plan: { steps: string[] } | { layerByLayer: string };
  performance?: ScenarioResult;
  accuracy?: AccuracyResult;
}

/** `frugal bench --scenario <s> <model dir>`: MLPerf-style performance and/or accuracy run. */
export async function scenarioCommand(
  modelDir: string | undefined,
  o: ScenarioCommandOptions,
): Promise<ScenarioReport> {
  if (!modelDir)
    throw new Error(
      '--scenario needs a saved model directory: frugal bench --scenario single-stream <model dir>',
    );
  const mode = o.mode ?? 'performance';
  if (!['performance', 'accuracy', 'both'].includes(mode))
    throw new Error(`--mode must be performance, accuracy or both, got '${mode}'`);
  const settings = scenarioSettings(o.scenario, {
    minQueryCount: o.minQueries,
    minDurationMs: o.minDuration === undefined ? undefined : o.minDuration * 1000,
    targetQps: o.targetQps,
    latencyBoundMs: o.latencyBound,
    samplesPerQuery: o.samplesPerQuery,
    offlineBatch: o.batch,
    seed: o.seed,
  });
  await initEngine({ backend: o.backend });
  const model = await loadModel(modelDir);
  let plan: IntegerPlan | null = null;
  try {
    const pool = samplePool(model, 1024, settings.seed);
    const report: ScenarioReport = {
      tool: 'frugal bench --scenario',
      model: modelDir,
      backend: o.backend,
      samples: `${pool.count} ${pool.source}`,
      kernels: [],
      plan: { layerByLayer: 'not compiled yet' },
    };
    modelSut(model, pool).run([0]); // warm-up: builds the integer kernels
    report.kernels = integerKernelUse(model);
    const gap = integerPlanGap(model);
    plan = gap === null ? integerPlan(model) : null;
    report.plan = plan ? { steps: plan.steps } : { layerByLayer: gap ?? '' };
    const compiled = plan;
    if (!report.kernels.some((k) => k.kernel.includes('wasm SIMD')))
      console.log('no layer runs on an integer kernel: the model runs on the float path');
    console.log(
      renderTable(
        ['layer', 'kernel'],
        report.kernels.map((k) => [k.layer, k.kernel]),
      ),
    );
    console.log(
      compiled
        ? 'performance runs use the whole-model integer plan (activations stay in wasm memory between layers)'
        : `performance runs go layer by layer through model.predict (no whole-model plan: ${gap})`,
    );
    if (mode !== 'performance') {
      report.accuracy = accuracyRun(model, pool, settings.offlineBatch);
      console.log(
        `accuracy mode: ${report.accuracy.correct}/${report.accuracy.samples} = ${fixed(report.accuracy.accuracy * 100, 2)}% on ${pool.source}`,
      );
    }
    if (mode !== 'accuracy') {
      console.log(
        `${settings.scenario}: at least ${settings.minQueryCount} ${settings.scenario === 'offline' ? 'samples' : 'queries'} and ${settings.minDurationMs / 1000} s`,
      );
      const predict = compiled ? (x: tf.Tensor) => compiled.predict(x) : undefined;
      const r = runScenario(modelSut(model, pool, predict), settings);
      report.performance = r;
      const metric =
        r.scenario === 'offline'
          ? ['samples/s', fixed(r.samplesPerSecond, 1)]
          : [
              `p${r.settings.percentile * 100} ms (early stopping)`,
              r.percentileMs === null ? 'n/a' : fixed(r.percentileMs, 3),
            ];
      console.log(
        renderTable(
          [
            'scenario',
            'queries',
            'samples',
            's',
            metric[0],
            'mean ms',
            'p50 ms',
            'p90 ms',
            'p99 ms',
            'valid',
          ],
          [
            [
              r.scenario,
              r.queries,
              r.samples,
              fixed(r.durationMs / 1000, 1),
              metric[1],
              fixed(r.latency.meanMs, 3),
              fixed(r.latency.p50Ms, 3),
              fixed(r.latency.p90Ms, 3),
              fixed(r.latency.p99Ms, 3),
              r.valid ? 'yes' : 'no',
            ],
          ],
        ),
      );
      for (const why of r.invalidBecause) console.log(`not valid: ${why}`);
    }
    if (o.out) {
      writeJsonAtomic(o.out, report);
      console.log(`report written to ${o.out}`);
    }
    return report;
  } finally {
    plan?.dispose();
    model.dispose();
  }
}
